/* Live updates: one server-sent event stream per page (GET /live/stream/, see live/views.py).

   An element that shows something live carries data-live="topic ..." (and data-live-lead="N" to
   hear only of one lead) and an hx-trigger with "live": an event of one of its topics makes htmx
   reload it through its own view. The stream is a nudge, not the record: when a stream opens
   without resuming (the page's first, or the server no longer knows what was missed: "reset"),
   every live element reloads; a resumed stream replays the events missed, so what happened
   meanwhile shows either way. While no stream is open (a drop, a server without streams, a proxy
   that buffers) each element with data-poll="5s" reloads on that interval instead, as pages did
   before streams; the stream is tried again every RETRY_MS. No inline script (CSP). */
(function () {
  "use strict";
  var url = document.body && document.body.dataset.liveUrl;
  if (!url || !window.EventSource) { startPolling(); return; }
  var RETRY_MS = 30000;   // a stream refused (204/503): poll, and try again this much later
  var SPACING_MS = 300;   // at most one reload of an element per this, the last event wins
  var seen = new Set(), order = [];
  var source = null, open = false, poller = null, retry = null;

  function mark(id) {
    if (!id) return true;
    if (seen.has(id)) return false;
    seen.add(id); order.push(id);
    if (order.length > 2000) seen.delete(order.shift());
    return true;
  }

  function busy(el) {
    var active = document.activeElement;
    return el.dataset.liveDefer !== undefined && active && el.contains(active) && /^(SELECT|INPUT|TEXTAREA)$/.test(active.tagName);
  }

  function reload(el) {
    if (!el.isConnected || !window.htmx) return;
    if (busy(el)) { // never under a choice being made: after it
      if (!el._liveDeferred) {
        el._liveDeferred = true;
        el.addEventListener("focusout", function later() {
          setTimeout(function () { if (!busy(el)) { el.removeEventListener("focusout", later); el._liveDeferred = false; reload(el); } }, 0);
        });
      }
      return;
    }
    var now = Date.now(), last = el._liveAt || 0;
    if (el._liveTimer) return; // a reload is already coming
    if (now - last < SPACING_MS) {
      el._liveTimer = setTimeout(function () { el._liveTimer = null; reload(el); }, SPACING_MS - (now - last));
      return;
    }
    el._liveAt = now;
    el._liveAsked = true;
    window.htmx.trigger(el, "live");
  }

  // A reload that failed (the server answered 5xx, the network dropped) is tried again, sooner
  // then later, until it succeeds: the event that asked for it was handled and is not replayed.
  var RETRY_DELAYS = [1000, 2000, 5000, 10000, 30000];
  document.addEventListener("htmx:afterRequest", function (e) {
    var el = e.detail.elt;
    if (!el || !el._liveAsked) return;
    el._liveAsked = false;
    var current = el.isConnected ? el : (el.id && document.getElementById(el.id)); // swapped outerHTML
    if (!current) return;
    if (e.detail.successful) { current._liveFailures = 0; return; }
    var failures = (el._liveFailures || 0) + 1;
    current._liveFailures = failures;
    setTimeout(function () { reload(current); }, RETRY_DELAYS[Math.min(failures, RETRY_DELAYS.length) - 1]);
  });

  function each(fn) { document.querySelectorAll("[data-live]").forEach(fn); }

  function hears(el, topic, lead) {
    if ((" " + el.dataset.live + " ").indexOf(" " + topic + " ") < 0) return false;
    return !el.dataset.liveLead || String(el.dataset.liveLead) === String(lead);
  }

  function state(live) {
    open = live;
    document.body.dataset.liveState = live ? "stream" : "polling";
    document.dispatchEvent(new CustomEvent("live:state", { detail: { live: live } }));
    if (live) stopPolling(); else startPolling();
  }

  // --- polling while no stream is open ------------------------------------------------------
  function interval(el) { return window.htmx ? window.htmx.parseInterval(el.dataset.poll) : undefined; }
  function startPolling() {
    document.body.dataset.liveState = "polling";
    if (poller) return;
    poller = setInterval(function () {
      var now = Date.now();
      document.querySelectorAll("[data-poll]").forEach(function (el) {
        var every = interval(el);
        if (!every) return;
        if (!el._polledAt) { el._polledAt = now; return; } // its own first load just happened
        if (now - el._polledAt >= every) { el._polledAt = now; reload(el); }
      });
    }, 500);
  }
  function stopPolling() { if (poller) { clearInterval(poller); poller = null; } }

  // --- the stream --------------------------------------------------------------------------------
  function connect() {
    retry = null;
    source = new EventSource(url);
    source.addEventListener("ready", function (e) {
      var info = {};
      try { info = JSON.parse(e.data); } catch (err) { /* an old server: reload */ }
      state(true);
      if (!info.resumed) each(reload); // a resumed stream replays what was missed instead
    });
    source.addEventListener("reset", function () { each(reload); });
    ["notification", "bell", "today", "call", "routing"].forEach(function (topic) {
      source.addEventListener(topic, function (e) {
        var event;
        try { event = JSON.parse(e.data); } catch (err) { return; }
        if (!mark(event.id)) return; // replayed after a reconnect, and handled already
        each(function (el) { if (hears(el, topic, event.lead)) reload(el); });
        document.dispatchEvent(new CustomEvent("live:event", { detail: event }));
      });
    });
    source.onerror = function () {
      if (open) state(false);
      else startPolling();
      if (source.readyState === EventSource.CLOSED && !retry) { // refused: not retried by itself
        source = null;
        retry = setTimeout(connect, RETRY_MS);
      }
    };
  }
  window.addEventListener("pagehide", function () { if (source) source.close(); });
  startPolling(); // until the stream says it is ready
  connect();
})();
