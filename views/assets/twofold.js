// twofold's one script for its own pages. Each part only helps: without scripts every page
// works and shows the same facts.

// Copy buttons, shown only when scripts run (what they copy is on the page either way):
// the backup codes, and a secret shown once.
for (const button of document.querySelectorAll('[data-copy-target]')) {
  const target = document.getElementById(button.dataset.copyTarget);
  if (!target || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener('click', async () => {
    const codes = [...target.querySelectorAll('[data-testid="backup-code"]')].map((code) => code.textContent.trim());
    await navigator.clipboard.writeText(codes.join('\n'));
    button.textContent = 'Copied';
  });
}

for (const button of document.querySelectorAll('[data-copy-text]')) {
  const target = document.getElementById(button.dataset.copyText);
  if (!target || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener('click', async () => {
    await navigator.clipboard.writeText(target.textContent.trim());
    button.textContent = 'Copied';
  });
}

// Times are written in UTC; shown here in the viewer's own time zone, named.
const localTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  timeZoneName: 'short',
});
for (const time of document.querySelectorAll('time[data-local]')) {
  const at = new Date(time.getAttribute('datetime'));
  if (Number.isNaN(at.getTime())) continue;
  time.title = time.textContent;
  time.textContent = localTime.format(at);
}

// The sign-out page of an application that asked with this session's own ID token goes
// on by itself; without scripts its button does the same.
if (document.querySelector('[data-auto-logout]')) {
  const form = document.getElementById('op.logoutForm');
  if (form) {
    const field = document.createElement('input');
    Object.assign(field, { type: 'hidden', name: 'logout', value: 'yes' });
    form.append(field);
    form.submit();
  }
}

// A SAML answer (HTTP-POST binding) goes to its application at once; without scripts its
// button does the same.
const autoSubmit = document.querySelector('form[data-auto-submit]');
if (autoSubmit) autoSubmit.submit();

// Security keys and passkeys: the page's form carries the server's WebAuthn options; the
// browser's answer goes back in the same form. Shown only where the browser can do it
// (WebAuthn with its JSON helpers); elsewhere the page's other ways to sign in stay.
for (const form of document.querySelectorAll('form[data-webauthn]')) {
  const credentials = window.PublicKeyCredential;
  const creating = form.dataset.webauthn === 'create';
  const parse = creating ? credentials?.parseCreationOptionsFromJSON : credentials?.parseRequestOptionsFromJSON;
  if (!parse || !navigator.credentials) continue;
  form.hidden = false;
  for (const note of document.querySelectorAll('[data-webauthn-unavailable]')) note.hidden = true;
  const problem = document.getElementById('key-problem');
  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy || !form.reportValidity()) return;
    busy = true;
    if (problem) problem.hidden = true;
    try {
      const publicKey = parse.call(credentials, JSON.parse(form.dataset.options));
      const credential = creating ? await navigator.credentials.create({ publicKey }) : await navigator.credentials.get({ publicKey });
      form.elements.response.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch {
      busy = false;
      if (problem) {
        problem.textContent = creating
          ? 'The key was not added: the browser’s request was cancelled or timed out. Try again.'
          : form.dataset.passkey !== undefined
            ? 'No passkey was used: the browser’s request was cancelled or timed out. Try again, or sign in with your password.'
            : 'No answer from a security key: the browser’s request was cancelled or timed out. Try again.';
        problem.hidden = false;
      }
    }
  });
}
