// The only script of twofold's pages: a copy button for the backup codes, shown only when
// scripts run (the codes are on the page and in the download either way).
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
