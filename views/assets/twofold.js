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
