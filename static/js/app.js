/* csplatform: the few behaviours htmx does not cover. No inline JavaScript anywhere, so a
   strict Content-Security-Policy holds; page pieces opt in through data- attributes. */
(function () {
  "use strict";
  // The catalogue is Django's JavaScriptCatalog (/jsi18n/, loaded before this file).
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (s, args) {
    return s.replace(/%s/g, function () { return String(args.shift()); });
  };

  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");

  // <select data-autosubmit> submits its form on change (the org switcher, whose work a
  // manager sees, the forecast's month). Arrow keys on a closed select change it too, so a
  // change made from the keyboard waits for Enter or for focus to leave, and stepping through
  // the options does not load a page per step.
  function autosubmits(el) {
    return el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form;
  }
  var keyed = null;
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (!autosubmits(el)) return;
    if (event.key === "Enter") {
      event.preventDefault();
      keyed = null;
      el.form.requestSubmit();
    } else if (event.key !== "Tab") {
      keyed = el;
    }
  });
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!autosubmits(el)) return;
    if (keyed === el) {
      el.dataset.changed = "true";
      return;
    }
    el.form.requestSubmit();
  });
  document.addEventListener("focusout", function (event) {
    var el = event.target;
    if (!autosubmits(el)) return;
    keyed = null;
    if (el.dataset.changed === "true") {
      delete el.dataset.changed;
      el.form.requestSubmit();
    }
  });
  document.addEventListener("pointerdown", function (event) {
    if (autosubmits(event.target)) keyed = null;
  });

  // A menu (<details data-menu>, the navigation's "More"): Escape closes it and gives the
  // focus back to its toggle; a click or focus outside it closes it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = event.target.closest && event.target.closest("details[data-menu][open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });
  function closeMenusOutside(target) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(target)) menu.open = false;
    });
  }
  document.addEventListener("click", function (event) { closeMenusOutside(event.target); });
  document.addEventListener("focusin", function (event) { closeMenusOutside(event.target); });

  // GET requests leave out empty parameters, so pushed URLs stay short and shareable.
  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    if (!detail || String(detail.verb).toLowerCase() !== "get" || !detail.formData) return;
    var empty = [];
    detail.formData.forEach(function (value, key) {
      if (value === "") empty.push(key);
    });
    empty.forEach(function (key) {
      detail.formData.delete(key);
    });
  });

  // <button data-clear-slot> closes a form loaded into a step's slot (My Work) and gives the
  // keyboard back to the step's first action.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-clear-slot]");
    if (!button) return;
    var slot = button.closest(".step__slot");
    if (!slot) return;
    var step = slot.closest(".step");
    slot.innerHTML = "";
    var first = step && step.querySelector(".step__actions button, .step__actions a");
    if (first) first.focus();
  });

  // <input data-select-on-focus> selects its whole value (a new API token, to copy).
  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el instanceof HTMLInputElement && el.hasAttribute("data-select-on-focus")) el.select();
  });

  // A failed htmx request says so instead of doing nothing.
  function flash(message) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    window.clearTimeout(flash.timer);
    flash.timer = window.setTimeout(function () {
      box.hidden = true;
    }, 8000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : "";
    flash(
      status === 403
        ? gettext("Your role does not allow this.")
        : interpolate(gettext("Something went wrong (%s). Reload the page and try again."), [status])
    );
  });
  document.addEventListener("htmx:sendError", function () {
    flash(gettext("The server could not be reached. Check your connection and try again."));
  });
})();
