/* Receptionist board. #board reloads when the live stream says a lead came or went (static/js/live.js;
   every 2 s while no stream is open; a failed reload is tried again), and the server answers 204
   when nothing changed;
   this script ticks the wait clocks, rings (Web Audio, no sound file) and flashes a lead that was not
   on the board before, keeps the sound switch (browsers only allow audio after a click or a tap),
   and says when the board is not live. No inline script: the settings are data- attributes. */
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var warnAfter = Number(board.dataset.warnAfter) || 120;
  var lateAfter = Number(board.dataset.lateAfter) || 300;
  var statusEl = document.getElementById("board-status");
  var soundBtn = document.getElementById("sound-toggle");
  var announce = document.getElementById("board-announce");
  var baseTitle = document.title.replace(/^\(\d+\)\s*/, "");
  var offset = 0; // the server's clock minus this browser's, in ms
  var known = null; // lead ids on the board at the last render
  var audio = null;
  var soundOn = false;

  // --- wait clocks ---------------------------------------------------------------------
  function fmt(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    var ss = (s < 10 ? "0" : "") + s;
    return h ? h + ":" + (m < 10 ? "0" : "") + m + ":" + ss : m + ":" + ss;
  }

  function tick() {
    var now = Date.now() + offset;
    board.querySelectorAll("[data-since]").forEach(function (el) {
      var waited = Math.max(0, Math.floor((now - Number(el.dataset.since)) / 1000));
      el.textContent = fmt(waited);
      el.classList.toggle("late", waited >= lateAfter);
      el.classList.toggle("warn", waited >= warnAfter && waited < lateAfter);
    });
  }

  // --- sound ---------------------------------------------------------------------------
  function tone(start, length, freqs, volume) {
    var gain = audio.createGain();
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(volume, start + 0.02);
    gain.gain.setValueAtTime(volume, start + length - 0.04);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    gain.connect(audio.destination);
    freqs.forEach(function (f) {
      var osc = audio.createOscillator();
      osc.frequency.value = f;
      osc.connect(gain);
      osc.start(start);
      osc.stop(start + length + 0.05);
    });
  }

  function ring() {
    if (!soundOn || !audio) return;
    if (audio.state === "suspended") audio.resume();
    var t = audio.currentTime + 0.05;
    [0, 0.45, 1.3, 1.75].forEach(function (at) { tone(t + at, 0.38, [440, 480], 0.25); }); // ring-ring, ring-ring
    board.dataset.rings = String((Number(board.dataset.rings) || 0) + 1);
  }

  function setSound(on, remembered) {
    soundOn = on;
    soundBtn.setAttribute("aria-pressed", on ? "true" : "false");
    soundBtn.classList.toggle("on", on);
    soundBtn.classList.toggle("ask", !on && remembered);
    soundBtn.textContent = on ? "Sound on" : remembered ? "Tap to turn sound back on" : "Turn on sound";
    if (!remembered) {
      try { localStorage.setItem("board-sound", on ? "on" : "off"); } catch (e) { /* private mode */ }
    }
  }

  function soundStart() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) {
      soundBtn.textContent = "This browser cannot ring";
      soundBtn.disabled = true;
      return false;
    }
    audio = audio || new Ctx();
    if (audio.state === "suspended") audio.resume();
    setSound(true, false);
    tone(audio.currentTime + 0.05, 0.15, [880], 0.15); // a short beep: sound works
    return true;
  }

  soundBtn.hidden = false;
  soundBtn.addEventListener("click", function () {
    if (soundOn) setSound(false, false);
    else soundStart();
  });
  var wanted = false;
  try { wanted = localStorage.getItem("board-sound") === "on"; } catch (e) { /* private mode */ }
  if (wanted) {
    // She had it on before this page load; the browser needs a new gesture: any click or key will do.
    setSound(false, true);
    var resume = function (e) {
      document.removeEventListener("pointerdown", resume, true);
      document.removeEventListener("keydown", resume, true);
      if (!soundOn && e.target !== soundBtn) soundStart();
    };
    document.addEventListener("pointerdown", resume, true);
    document.addEventListener("keydown", resume, true);
  }

  // --- after every render --------------------------------------------------------------
  function rendered() {
    var grid = board.querySelector("[data-version]");
    if (!grid) return;
    offset = Number(grid.dataset.serverNow) - Date.now();
    var rows = board.querySelectorAll("[data-lead-id]");
    var ids = {}, fresh = [];
    rows.forEach(function (row) {
      ids[row.dataset.leadId] = true;
      if (known && !known[row.dataset.leadId]) fresh.push(row);
    });
    known = ids;
    document.title = (rows.length ? "(" + rows.length + ") " : "") + baseTitle;
    tick();
    if (!fresh.length) return;
    fresh.forEach(function (row) { row.classList.add("is-new"); });
    announce.textContent = "New lead on the board: " + fresh.map(function (row) {
      return row.querySelector(".lead-name").textContent;
    }).join(", ");
    ring();
  }

  function setStatus(state, text) {
    statusEl.hidden = false;
    statusEl.dataset.state = state;
    statusEl.querySelector(".text").textContent = text;
  }

  function flash(text) {
    var box = document.getElementById("flash");
    box.innerHTML = "";
    var ul = document.createElement("ul"), li = document.createElement("li");
    ul.className = "messages"; li.className = "error"; li.textContent = text;
    ul.appendChild(li); box.appendChild(ul);
    box.scrollIntoView({block: "nearest"});
  }

  // The element that made the request: swap events fire on #board (the target) whoever asked.
  function isPoll(e) {
    return (e.detail.requestConfig ? e.detail.requestConfig.elt : e.detail.elt) === board;
  }

  board.addEventListener("htmx:configRequest", function (e) {
    var grid = board.querySelector("[data-version]");
    if (isPoll(e) && grid) e.detail.parameters.v = grid.dataset.version; // unchanged -> 204
  });
  board.addEventListener("htmx:beforeSwap", function (e) {
    // A hand the server refused (409: someone already has it; 400: not in the pool) carries the
    // refreshed board and its message: show it, as a normal answer.
    var code = e.detail.xhr.status;
    if (!isPoll(e) && (code === 400 || code === 409)) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  board.addEventListener("htmx:afterSwap", function (e) {
    rendered();
    if (!isPoll(e)) document.getElementById("flash").scrollIntoView({block: "nearest"});
  });
  board.addEventListener("htmx:afterRequest", function (e) {
    if (isPoll(e) && e.detail.successful) setStatus("live", "Live");
  });
  // Errors are said here, on the board, instead of the page-wide "Not saved" message.
  board.addEventListener("htmx:responseError", function (e) {
    e.stopPropagation();
    var code = e.detail.xhr.status;
    if (isPoll(e)) setStatus("offline", code === 403 ? "Not allowed: reload" : "Server error " + code + ": retrying");
    else flash(code === 404 ? "That lead is no longer on this board: someone handed it." : "Not handed: the server answered " + code + ". Try again.");
  });
  board.addEventListener("htmx:sendError", function (e) {
    e.stopPropagation();
    if (isPoll(e)) setStatus("offline", "Offline: retrying");
    else flash("Not handed: no connection to the server. Check the network and try again.");
  });
  // Background tabs poll slowly; catch up the moment the board is looked at again.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") board.dispatchEvent(new CustomEvent("refresh"));
  });

  setStatus("live", "Live");
  rendered();
  setInterval(tick, 1000);
})();
