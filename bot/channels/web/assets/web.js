document.documentElement.classList.add('js');
// The web report page works without this file. With it: a photo is sent as soon as it is picked (the send
// button stays for browsers that do not tell), and a form is not sent twice while the first is on its way.
document.addEventListener('change', (e) => {
  const input = e.target;
  if (input instanceof HTMLInputElement && input.type === 'file' && input.files && input.files.length > 0) {
    const form = input.form;
    if (form) form.requestSubmit();
  }
});
document.addEventListener('htmx:beforeRequest', (e) => {
  const form = e.detail && e.detail.elt;
  if (form instanceof HTMLFormElement) {
    if (form.dataset.sending === '1') e.preventDefault();
    form.dataset.sending = '1';
  }
});
document.addEventListener('htmx:afterRequest', (e) => {
  const form = e.detail && e.detail.elt;
  if (form instanceof HTMLFormElement) delete form.dataset.sending;
});
