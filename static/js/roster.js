// Roster's small script. Everything works without it (plain links and
// forms); it only adds what a keyboard user expects around htmx swaps:
// Space opens a role badge like Enter does, Escape closes the role editor,
// and after any inline swap the focus goes back where the person was
// (the control they changed, or the row's badge) instead of falling to
// <body>.
(function () {
  "use strict";
  // Pages style themselves for "scripts on" from this class (for example,
  // a row's Save button is hidden where a change saves by itself).
  document.documentElement.classList.add("js");

  // What had the focus when a swap's request left: the id of the focused
  // element and of the element the answer replaces.
  var pending = null;

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
        cancel.click();
      }
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail && event.detail.target;
    var active = document.activeElement;
    pending = {
      target: target && target.id ? target.id : null,
      active: active && active.id ? active.id : null
    };
    // A new action's answer replaces the last one's message.
    var flash = document.getElementById("flash-region");
    if (flash && target !== flash) flash.textContent = "";
  });

  // The control a row's person works with: its badge, else its select.
  function focusable(row) {
    var order = row.matches("tr.editing") ? ["select"] : ["a.badge-edit", "select", "button", "a[href]"];
    for (var i = 0; i < order.length; i++) {
      var found = row.querySelector(order[i]);
      if (found) return found;
    }
    return null;
  }

  document.addEventListener("htmx:afterSettle", function () {
    if (!pending) return;
    var was = pending;
    var active = document.activeElement;
    var lost = !active || active === document.body || !document.contains(active);
    var row = was.target && document.getElementById(was.target);
    var editorOpened = row && row.matches("tr.editing");
    if (!lost && !editorOpened) { pending = null; return; }
    var next = (!editorOpened && was.active && document.getElementById(was.active)) ||
      (row && focusable(row));
    if (!next) return;
    pending = null;
    next.focus();
  });
})();

// Copy buttons (the new API key's secret): the field stays selectable for
// copying by hand without JavaScript.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () { button.textContent = "Copied"; };
    var byHand = function () {
      // Selected either way: Ctrl+C copies it.
      if (document.execCommand && document.execCommand("copy")) done();
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, byHand);
    } else {
      byHand();
    }
  });
})();

// "Select all on this page" on Members ticks every row's box in place;
// without JavaScript the link reloads the page with every box ticked.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-select-all]");
    if (!link) return;
    event.preventDefault();
    var boxes = document.querySelectorAll('input[type="checkbox"][form="bulk"]');
    var all = Array.prototype.every.call(boxes, function (box) { return box.checked; });
    Array.prototype.forEach.call(boxes, function (box) { box.checked = !all; });
  });
})();
