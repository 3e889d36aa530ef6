// The print pages' one button: the browser's print dialog (A4 is set by the page's CSS).
document.addEventListener('click', (e) => {
  if (e.target instanceof Element && e.target.closest('[data-print]')) window.print();
});
