/* Today: running response clocks, the side panel, the call dock and keyboard shortcuts.
   j/k move between rows, c call, t text, e email, l log, a set appointment, o open the lead,
   r refresh, ? help. Keys never fire while typing in a box or while a panel is open. */
(function () {
  "use strict";

  var currentId = null;

  function $(id) { return document.getElementById(id); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue .t-row")); }

  function refresh() {
    if (window.htmx) { window.htmx.trigger(document.body, "queue-changed"); }
  }

  // --- rows and keys ----------------------------------------------------------------------------

  function select(row, focus) {
    rows().forEach(function (r) { r.classList.toggle("is-current", r === row); });
    if (!row) { currentId = null; return; }
    currentId = row.id;
    currentLead = row.dataset.lead || null;
    if (focus) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  // The selected row, or after a refresh moved its customer to another section, their new row.
  var currentLead = null;
  function currentRow() {
    if (!currentId) { return null; }
    var row = $(currentId);
    if (!row && currentLead) {
      row = document.querySelector('#queue .t-row[data-lead="' + currentLead + '"]');
      if (row) { currentId = row.id; }
    }
    return row;
  }

  function move(delta) {
    var all = rows();
    if (!all.length) { return; }
    var at = all.indexOf(currentRow());
    var next = at < 0 ? (delta > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + delta));
    select(all[next], true);
  }

  function act(name) {
    var row = currentRow();
    if (!row) { move(1); row = currentRow(); }
    if (!row) { return; }
    var el = row.querySelector('[data-act="' + name + '"]');
    if (!el || el.disabled || el.getAttribute("aria-disabled") === "true") { return; }
    if (name === "open") { window.location.href = el.href; return; }
    el.click();
  }

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }

  var KEYS = { c: "call", t: "text", e: "email", l: "log", a: "appointment", o: "open" };

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing || typing(e.target)) { return; }
    if (document.querySelector("dialog[open]")) { return; }  // Esc closes a panel; nothing else
    var key = e.key;
    if (key === "j" || key === "ArrowDown" && currentId) { move(1); }
    else if (key === "k" || key === "ArrowUp" && currentId) { move(-1); }
    else if (KEYS[key]) { act(KEYS[key]); }
    else if (key === "r") { refresh(); }
    else if (key === "?") { $("shortcuts").showModal(); }
    else { return; }
    e.preventDefault();
  });

  // Text, email, log and appointment open the side panel with the row's work URL (one attribute
  // a row rather than one per button); the plain links still open the lead page without JavaScript.
  var PANEL = { text: 1, email: 1, log: 1, appointment: 1 };

  document.addEventListener("click", function (e) {
    var row = e.target.closest && e.target.closest("#queue .t-row");
    if (row) { select(row, false); }
    var link = e.target.closest && e.target.closest("#queue a[data-act]");
    if (link && PANEL[link.dataset.act] && row && row.dataset.work && window.htmx && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      e.preventDefault();
      if (link.getAttribute("aria-disabled") === "true") { return; }
      window.htmx.ajax("GET", row.dataset.work + "?do=" + link.dataset.act, { target: "#work-body", swap: "innerHTML", source: link });
      return;
    }
    if (e.target.closest && e.target.closest("[data-close]")) {
      var dialog = e.target.closest("dialog");
      if (dialog) { dialog.close(); }
    }
  });

  // --- running clocks ---------------------------------------------------------------------------

  function span(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (d > 0) { return d + " d " + (h % 24) + " h"; }
    if (h > 0) { return h + " h " + (m % 60) + " min"; }
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = span(now - Date.parse(el.dataset.since));
      var breach = el.dataset.breach ? Date.parse(el.dataset.breach) : null;
      if (breach !== null && now >= breach && !el.classList.contains("late")) {
        el.classList.add("late");
        var row = el.closest(".t-row");
        if (row) {
          row.classList.add("is-late");
          var sub = row.querySelector(".t-sub");
          if (sub) { sub.textContent = "past the limit"; }
        }
      }
    });
    document.querySelectorAll("[data-moves]").forEach(function (el) {
      var left = Date.parse(el.dataset.moves) - now, strong = el.querySelector(".left");
      el.classList.toggle("soon", left > 0 && left < 5 * 60000);
      el.classList.toggle("due", left <= 0);
      if (left <= 0) { el.textContent = "moving to the next in line…"; }
      else if (strong) { strong.textContent = span(left); }
    });
  }
  tick();
  setInterval(tick, 1000);

  // --- the work panel and the call dock ---------------------------------------------------------

  function openWork() {
    var dialog = $("work"), work = dialog.querySelector(".work");
    if (!dialog.open) { dialog.showModal(); }
    if (!work) { return; }
    var what = work.dataset.do, focus = null, box = null;
    if (what === "text") { box = $("text-box"); focus = $("text-body"); }
    else if (what === "email") { box = $("email-box"); focus = $("email-subject"); }
    else if (what === "appointment") { box = $("appointment-box"); focus = box && box.querySelector("input[name=starts_at]"); }
    else if (what === "log") { focus = document.querySelector("#log-form textarea"); box = $("log-form"); }
    if (box && box.tagName === "DETAILS") { box.open = true; }
    if (box && (what === "appointment" || what === "log")) { box.scrollIntoView({ block: "start" }); }
    else { dialog.scrollTop = 0; }
    if (focus) { focus.focus({ preventScroll: true }); }
  }

  document.body.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    if (target.id === "work-body") { openWork(); }
    if (target.id === "call-dock-panel") { $("call-dock").hidden = false; }
  });

  document.body.addEventListener("htmx:beforeRequest", function (e) {
    var form = e.detail.elt.closest && e.detail.elt.closest("form.t-call");
    if (form) { $("call-dock-name").textContent = form.dataset.name || ""; }
  });

  // A successful send, log or call changes the queue (a text completes its task): refresh it.
  document.body.addEventListener("htmx:afterRequest", function (e) {
    var elt = e.detail.elt, xhr = e.detail.xhr, verb = e.detail.requestConfig && e.detail.requestConfig.verb;
    if (!xhr || verb !== "post" || xhr.status < 200 || xhr.status >= 300 || !elt.closest) { return; }
    if (elt.closest("[data-triggers-queue]")) { return; }  // answers with its own HX-Trigger
    if (elt.closest("#work") || elt.closest("form.t-call")) { refresh(); }
  });

  // After a refresh the selected row stays selected.
  document.body.addEventListener("htmx:afterSettle", function () {
    var row = currentRow();
    if (row && !row.classList.contains("is-current")) { select(row, document.activeElement === document.body); }
  });

  function init() {
    var work = $("work");
    work.addEventListener("close", function () {
      var row = currentRow();
      if (row) { row.focus({ preventScroll: true }); }
    });
    work.addEventListener("click", function (e) {  // a click on the backdrop closes the panel
      if (e.target === work) { work.close(); }
    });
    $("shortcuts").addEventListener("click", function (e) { if (e.target === $("shortcuts")) { $("shortcuts").close(); } });
    $("shortcuts-open").addEventListener("click", function () { $("shortcuts").showModal(); });
    $("refresh-queue").addEventListener("click", refresh);
    $("call-dock-close").addEventListener("click", function () { $("call-dock").hidden = true; });
    // Every 90 s the queue refreshes itself, but never under an open panel (a trigger filter
    // would need eval, which the Content-Security-Policy refuses).
    setInterval(function () {
      if (window.htmx && !document.querySelector("dialog[open]")) { window.htmx.trigger($("queue-poller"), "queue-poll"); }
    }, 90000);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
