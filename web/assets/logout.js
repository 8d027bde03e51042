// The sign-out page. Signing out takes a click: a page that signed out on
// load would let any site sign its visitors out by linking here.

import { $, busy, client, explain, show } from './ui.js';

const fields = $('fields');
const error = $('error');

$('logout-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  show(error, '');
  await busy(fields, async () => {
    try {
      await client.logout();
      $('logout-form').hidden = true;
      $('heading').textContent = 'Signed out';
      $('done').hidden = false;
    } catch (err) {
      show(error, explain(err));
    }
  });
});
fields.disabled = false;
