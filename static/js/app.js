/* Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can refuse
   inline script and inline style (see README, "Content-Security-Policy"). */
(function () {
  "use strict";

  // On a phone the nav is one sideways-scrolling row: bring the current page's link into view.
  function navIntoView() {
    var nav = document.querySelector("header.top nav"), active = nav && nav.querySelector("a.active");
    if (active && nav.scrollWidth > nav.clientWidth) { nav.scrollLeft = active.offsetLeft - nav.clientWidth / 2 + active.offsetWidth / 2; }
    // "Setup" opens its links inline after it, off to the right: scroll them into view.
    var more = nav && nav.querySelector("details.nav-more");
    if (more) more.addEventListener("toggle", function () {
      if (more.open && nav.scrollWidth > nav.clientWidth) { nav.scrollLeft += more.getBoundingClientRect().left - nav.getBoundingClientRect().left; }
    });
  }

  // An htmx request that fails must not fail silently: say so where the page's messages go.
  function flash(text) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.innerHTML = "";
    var ul = document.createElement("ul"), li = document.createElement("li");
    ul.className = "messages"; li.className = "error"; li.textContent = text;
    ul.appendChild(li); box.appendChild(ul);
    box.scrollIntoView({block: "nearest"});
  }
  // Background polling (the bell) stays quiet: it must not cover the page with errors every 5 s.
  function quiet(e) { var elt = e.detail && e.detail.elt; return !!(elt && elt.closest && elt.closest("[data-quiet]")); }
  document.addEventListener("htmx:responseError", function (e) {
    if (quiet(e)) return;
    var status = e.detail.xhr.status;
    flash(status === 403 ? "Not saved: your session may have expired. Reload the page and log in again."
                         : "Not saved: the server answered " + status + ". Try again in a moment.");
  });
  document.addEventListener("htmx:sendError", function (e) {
    if (quiet(e)) return;
    flash("Not saved: no connection to the server. Check the network and try again.");
  });

  // data-confirm="Question?" on a form (asked on submit) or a button (asked on click).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) { e.preventDefault(); return; }
    // data-submit-once: the button is disabled as the form goes, so a double click sends it once.
    if (form.hasAttribute && form.hasAttribute("data-submit-once")) {
      var button = form.querySelector("button");
      if (button) { setTimeout(function () { button.disabled = true; }, 0); }
    }
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) { e.preventDefault(); }
  });
  // data-autosubmit on a select: choosing sends its form.
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("select[data-autosubmit]")) { e.target.form.submit(); }
  });

  // Bars and marks sized by data: data-width / data-left in percent, data-color as a colour.
  // Set through the style object, which the policy allows, not through style="" attributes.
  function applySizes(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-width], [data-left], [data-color]").forEach(function (el) {
      if (el.dataset.width !== undefined) el.style.width = parseFloat(el.dataset.width) + "%";
      if (el.dataset.left !== undefined) el.style.left = parseFloat(el.dataset.left) + "%";
      if (el.dataset.color !== undefined) el.style.background = el.dataset.color;
    });
  }
  document.addEventListener("htmx:load", function (e) { applySizes(e.target); });

  function init() { navIntoView(); applySizes(document); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
