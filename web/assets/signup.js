// The sign-up page: POST /auth/register (which also logs in), then go on
// like the log-in page does.

import { safeNext } from './gatehouse.js';
import { $, busy, client, explain, show } from './ui.js';

const params = new URLSearchParams(location.search);
const next = safeNext(params.get('next'));
if (params.has('next')) $('other').href = '/login?next=' + encodeURIComponent(next);

const fields = $('fields');
const error = $('error');

$('signup-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  show(error, '');
  await busy(fields, async () => {
    try {
      await client.register($('email').value, $('password').value);
      location.assign(next);
    } catch (err) {
      show(
        error,
        explain(err, {
          'email-taken': 'An account with this email already exists. Log in instead.',
          'registration-closed': 'Sign-up is closed on this server. Ask its operator for an account.',
        }),
      );
    }
  });
});
fields.disabled = false;
$('email').focus();
