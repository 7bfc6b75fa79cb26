// Keyboard support for the inline role editor. Everything works without
// this file (plain links and forms); it only adds what a keyboard user
// expects: Space opens a role badge like Enter does, Escape closes the
// editor, and focus goes back to the badge.
(function () {
  "use strict";
  var returnTo = null;

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === " " && target.matches && target.matches("a.badge-edit")) {
      event.preventDefault();
      target.click();
      return;
    }
    if (event.key === "Escape") {
      var row = target.closest && target.closest("tr.editing");
      if (!row) return;
      var cancel = row.querySelector("a[data-cancel]");
      if (cancel) {
        event.preventDefault();
        returnTo = row.id;
        cancel.click();
      }
    }
  });

  // After htmx swaps a row back in, put focus on its badge.
  document.addEventListener("htmx:afterSettle", function () {
    if (!returnTo) return;
    var badge = document.querySelector("#" + CSS.escape(returnTo) + " a.badge-edit");
    returnTo = null;
    if (badge) badge.focus();
  });

  // When the editor opens, focus its role select.
  document.addEventListener("htmx:afterSettle", function (event) {
    var row = event.detail && event.detail.elt;
    if (row && row.matches && row.matches("tr.editing")) {
      var select = row.querySelector("select");
      if (select) select.focus();
    }
  });
})();
