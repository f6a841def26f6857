// Ask before destructive form submissions: <form data-confirm="Are you sure?">.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// Our Content-Security-Policy allows no inline code: no on*= handlers, no hx-on, no style="...".
// What templates used to say inline is said with data attributes, and these few listeners act on them
// (dynamic styles are in data-styles.js, which the admin loads too).

// <form data-no-submit>: a form that never submits (the survey preview).
document.addEventListener("submit", function (event) {
  if (event.target.hasAttribute && event.target.hasAttribute("data-no-submit")) {
    event.preventDefault();
  }
});

// <select data-autosubmit>: submit the form on change (the language switch).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (select.matches && select.matches("select[data-autosubmit]") && select.form) {
    select.form.submit();
  }
});

// <form data-swap-on-400>: htmx swaps a 400 answer in (the form with its errors) instead of dropping it.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 400 && event.target.closest && event.target.closest("[data-swap-on-400]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
