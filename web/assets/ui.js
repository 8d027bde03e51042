// ui.js: what the Gatehouse pages share: turning API errors into sentences
// a person can act on, and showing them. Everything is written with
// textContent, never innerHTML: user agents and display names come from
// other people.

import { createClient } from './gatehouse.js';

export const client = createClient();

/** $ returns the element with id, which the page must have. */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error('missing #' + id);
  return el;
}

function duration(seconds) {
  if (seconds == null) return 'a little while';
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const m = Math.ceil(seconds / 60);
  return m === 1 ? '1 minute' : `${m} minutes`;
}

/**
 * explain turns an error from the client into a sentence for the person at
 * the keyboard.
 * @param {unknown} err
 * @param {Record<string,string>} [special] messages by problem type for this form
 */
export function explain(err, special = {}) {
  if (!err || typeof err !== 'object' || !('kind' in err)) {
    return 'Something went wrong in this page. Reload it and try again.';
  }
  if (err.kind === 'network') {
    return 'Cannot reach the server. Check your connection and try again.';
  }
  if (err.kind === 'logged-out') {
    return 'Your session has ended. Log in again.';
  }
  if (special[err.type]) return special[err.type];
  switch (err.status) {
    case 429:
      return `Too many attempts. Wait ${duration(err.retryAfter)} and try again.`;
    case 503:
      return `The server is busy. Try again in ${duration(err.retryAfter)}.`;
    case 403:
      if (err.type === 'cross-origin') return 'The request was refused because it did not come from this site.';
      break;
    case 400:
      if (err.type === 'weak-password' && err.problem?.detail) {
        return 'Choose another password: the ' + err.problem.detail.replace(/^new_/, '') + '.';
      }
      if (err.problem?.detail) return capitalise(err.problem.detail.replace(/_/g, ' ')) + '.';
      break;
  }
  return err.problem?.title ? err.problem.title + '.' : `The server answered ${err.status}. Try again.`;
}

function capitalise(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** show puts text into el and reveals it; an empty text hides it. */
export function show(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

/**
 * busy disables the fieldset while fn runs, so a double click sends one
 * request, and re-enables it afterwards.
 */
export async function busy(fieldset, fn) {
  fieldset.disabled = true;
  fieldset.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    fieldset.disabled = false;
    fieldset.removeAttribute('aria-busy');
  }
}
