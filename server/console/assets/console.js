// The console's only script besides htmx: "select all" for the queue, and a question before removing a person.
// Everything works without it.
(function () {
  document.addEventListener('change', function (e) {
    var t = e.target;
    if (t && t.classList && t.classList.contains('select-all')) {
      var form = t.closest('form');
      if (!form) return;
      form.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = t.checked; });
    }
  });
  document.addEventListener('submit', function (e) {
    var f = e.target;
    if (f && f.classList && f.classList.contains('confirm') && !window.confirm(f.getAttribute('data-confirm') || '')) e.preventDefault();
  });
})();
