// Dynamic styles through the CSSOM, which the Content-Security-Policy allows (it blocks style="..."
// in the markup): data-bg-colour="#RRGGBB" (a tier's colour) and data-width-percent="42" (a progress
// bar). Applied on page load and again whenever htmx swaps content in (the import progress polls every
// second). Loaded by base.html and by the Tier admin (partners/admin.py).
(function () {
  function applyDataStyles() {
    document.querySelectorAll("[data-bg-colour]").forEach(function (element) {
      element.style.backgroundColor = element.dataset.bgColour;
    });
    document.querySelectorAll("[data-width-percent]").forEach(function (element) {
      element.style.width = element.dataset.widthPercent + "%";
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", applyDataStyles);
  } else {
    applyDataStyles();
  }
  document.addEventListener("htmx:load", applyDataStyles);
  document.addEventListener("htmx:afterSwap", applyDataStyles);
})();
