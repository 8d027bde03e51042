// The account page: who is signed in, the display name, every active
// session with a way to end it, sign out everywhere, and password change.

import { LoggedOutError } from './gatehouse.js';
import { $, busy, client, explain, show } from './ui.js';

const main = $('account');
const error = $('error');
const notice = $('notice');

// Once the session is over (refresh failed), the only useful page is the
// log-in page, which comes back here afterwards.
client.onLoggedOut(() => location.replace('/login?next=%2Faccount'));

function fail(err) {
  if (err instanceof LoggedOutError) return;
  show(notice, '');
  show(error, explain(err, { 'current-password': 'Your current password is not right.' }));
}

function ok(text) {
  show(error, '');
  show(notice, text);
}

const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const moment = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

function ago(iso) {
  const s = (Date.parse(iso) - Date.now()) / 1000;
  const abs = Math.abs(s);
  if (abs < 60) return 'just now';
  if (abs < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86400), 'day');
}

// device names a session by the user agent that started it. It is a hint
// for a person, not an identification: user agents are easy to fake.
function device(ua) {
  if (!ua) return 'Unknown device';
  const browser =
    [
      [/Edg\//, 'Edge'],
      [/OPR\//, 'Opera'],
      [/Firefox\//, 'Firefox'],
      [/HeadlessChrome\//, 'Headless Chrome'],
      [/Chrome\//, 'Chrome'],
      [/Safari\//, 'Safari'],
      [/^curl\//, 'curl'],
      [/^Go-http-client\//, 'Go program'],
    ].find(([re]) => re.test(ua))?.[1] || '';
  const os =
    [
      [/Android/, 'Android'],
      [/iPhone|iPad/, 'iOS'],
      [/Windows/, 'Windows'],
      [/CrOS/, 'ChromeOS'],
      [/Mac OS X|Macintosh/, 'macOS'],
      [/Linux/, 'Linux'],
    ].find(([re]) => re.test(ua))?.[1] || '';
  if (browser && os) return `${browser} on ${os}`;
  return browser || os || (ua.length > 60 ? ua.slice(0, 57) + '…' : ua);
}

let me = null;

function renderMe() {
  const u = me.user;
  $('whoami').textContent = u.display_name ? `${u.display_name} · ${u.email}` : u.email;
  $('email').textContent = u.email;
  $('created').textContent = day.format(new Date(u.created_at));
  $('display-name').value = u.display_name;
  $('username').value = u.email;
}

async function loadMe() {
  me = await client.me();
  renderMe();
}

async function loadSessions() {
  const { sessions } = await client.sessions();
  sessions.sort((a, b) => Number(b.current) - Number(a.current) || b.last_used_at.localeCompare(a.last_used_at));
  $('sessions').replaceChildren(...sessions.map(sessionRow));
}

function sessionRow(s) {
  const li = document.createElement('li');
  li.dataset.session = s.id;
  if (s.current) li.dataset.current = 'true';

  const what = document.createElement('div');
  what.className = 'device';
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = device(s.user_agent);
  name.title = s.user_agent || '';
  if (s.current) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'This device';
    name.append(badge);
  }
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent = `Signed in ${moment.format(new Date(s.created_at))} · active ${ago(s.last_used_at)}`;
  what.append(name, meta);

  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'secondary';
  button.textContent = s.current ? 'Sign out this device' : 'Sign out';
  button.setAttribute('aria-label', s.current ? 'Sign out this device' : `Sign out ${name.textContent}`);
  button.addEventListener('click', () => revoke(s, button));

  li.append(what, button);
  return li;
}

async function revoke(s, button) {
  button.disabled = true;
  try {
    await client.revokeSession(s.id);
    if (s.current) {
      location.replace('/login');
      return;
    }
    ok(`Signed out ${device(s.user_agent)}.`);
    await loadSessions();
  } catch (err) {
    button.disabled = false;
    fail(err);
  }
}

$('logout').addEventListener('click', async () => {
  try {
    await client.logout();
    location.replace('/login');
  } catch (err) {
    fail(err);
  }
});

$('logout-all').addEventListener('click', async () => {
  try {
    await client.logoutAll();
    location.replace('/login');
  } catch (err) {
    fail(err);
  }
});

$('name-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  await busy($('name-fields'), async () => {
    try {
      const { user } = await client.setDisplayName($('display-name').value);
      me.user = user;
      renderMe();
      ok('Display name saved.');
    } catch (err) {
      fail(err);
    }
  });
});

$('password-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  await busy($('password-fields'), async () => {
    try {
      await client.changePassword($('current-password').value, $('new-password').value);
      $('current-password').value = '';
      $('new-password').value = '';
      ok('Password changed. Every other device has been signed out.');
      await loadSessions();
    } catch (err) {
      fail(err);
    }
  });
});

try {
  await Promise.all([loadMe(), loadSessions()]);
  for (const id of ['name-fields', 'password-fields', 'logout', 'logout-all']) $(id).disabled = false;
  main.setAttribute('aria-busy', 'false');
} catch (err) {
  fail(err);
}
