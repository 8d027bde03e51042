// The log-in page: POST /auth/login, then go to ?next= if it is a safe
// path on this origin, else to the account page.

import { safeNext } from './gatehouse.js';
import { $, busy, client, explain, show } from './ui.js';

const params = new URLSearchParams(location.search);
const next = safeNext(params.get('next'));
if (params.has('next')) $('other').href = '/signup?next=' + encodeURIComponent(next);

const fields = $('fields');
const error = $('error');

// A session may still be alive on its refresh cookie alone (the access
// token expired, say, and a proxy sent the browser here): then there is
// nothing to type, and the person goes straight on.
try {
  if (await client.refresh()) location.replace(next);
} catch {
  // No answer: the form below reports it when it is used.
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  show(error, '');
  await busy(fields, async () => {
    try {
      await client.login($('email').value, $('password').value);
      location.assign(next);
    } catch (err) {
      show(error, explain(err, { 'invalid-credentials': 'Wrong email or password.' }));
    }
  });
  if (!error.hidden) $('password').select();
});
fields.disabled = false;
$('email').focus();
