// Strongbox page behaviour: the one <dialog>, fields shown by a choice, the browser's time zone.
(function () {
  "use strict";

  function dialog() { return document.getElementById("dialog"); }

  // Show the controls that belong to the current choice (e.g. "Repeats": Daily shows "At").
  function applyShowIf(root) {
    (root || document).querySelectorAll("[data-show-if]").forEach(function (el) {
      var form = el.closest("form") || document;
      var name = el.getAttribute("data-show-if");
      var controls = form.querySelectorAll('[name="' + name + '"]');
      var value = "";
      controls.forEach(function (c) {
        if (c.type === "checkbox" || c.type === "radio") {
          if (c.checked) { value = c.value; }
        } else if (c.type !== "hidden" || controls.length === 1) {
          value = c.value;
        }
      });
      el.hidden = el.getAttribute("data-values").split(" ").indexOf(value) < 0;
    });
  }

  // Preselect the browser's time zone in a new schedule's "Time zone", and say so.
  function applyBrowserZone(root) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    (root || document).querySelectorAll("select[data-browser-zone]").forEach(function (select) {
      var note = select.parentElement.querySelector("[data-browser-zone-note]");
      if (note && zone) { note.textContent = "Your browser's time zone is " + zone + "."; }
      if (select.getAttribute("data-browser-zone") !== "yes" || select.dataset.applied) { return; }
      select.dataset.applied = "1";
      if (zone && select.querySelector('option[value="' + zone + '"]')) {
        select.value = zone;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  function setUp(root) {
    applyShowIf(root);
    applyBrowserZone(root);
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form) { applyShowIf(form); }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest && event.target.closest("[data-close-dialog]");
    if (closer) { dialog().close(); }
    // A menu item was chosen: close its menu.
    var item = event.target.closest && event.target.closest(".menu-items button");
    if (item) {
      var menu = item.closest("details.menu");
      if (menu) { menu.open = false; }
    }
  });

  // Escape closes an open menu and gives focus back to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menu = event.target.closest && event.target.closest("details.menu[open]");
    if (menu) { menu.open = false; menu.querySelector("summary").focus(); }
  });

  // Keep expandable boxes open when htmx replaces them.
  var openBoxes = {};
  document.addEventListener("htmx:beforeSwap", function (event) {
    event.detail.target.querySelectorAll("details[data-keep-open]").forEach(function (d) {
      openBoxes[d.getAttribute("data-keep-open")] = d.open;
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    target.querySelectorAll && target.querySelectorAll("details[data-keep-open]").forEach(function (d) {
      if (openBoxes[d.getAttribute("data-keep-open")]) { d.open = true; }
    });
    if (target.id === "dialog-body") {
      var d = dialog();
      if (target.children.length && !d.open) { d.showModal(); }
      var first = target.querySelector("[autofocus], input:not([type=hidden]):not([readonly]), select, button");
      if (first && d.open && !target.contains(document.activeElement)) { first.focus(); }
    }
    setUp(target);
  });

  document.body.addEventListener("strongbox:close-dialog", function () {
    var d = dialog();
    if (d.open) { d.close(); }
  });

  dialog().addEventListener("close", function () {
    document.getElementById("dialog-body").innerHTML = "";
  });

  setUp(document);
})();
