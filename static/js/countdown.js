/* The reassignment deadline on a lead page counts down live: a page left open shows the truth. */
(function () {
  "use strict";
  function tick() {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.floor((Date.parse(el.dataset.deadline) - Date.now()) / 1000), out = el.querySelector(".left");
      if (!out) return;
      if (left <= 0) { out.textContent = "any moment now"; el.classList.add("due"); return; }
      var m = Math.floor(left / 60), s = left % 60;
      out.textContent = m >= 1440 ? Math.floor(m / 1440) + " d " + Math.floor((m % 1440) / 60) + " h"
        : m >= 60 ? Math.floor(m / 60) + " h " + (m % 60) + " min" : m + " min " + String(s).padStart(2, "0") + " s";
      el.classList.toggle("soon", left < 300);
    });
  }
  tick(); setInterval(tick, 1000);
})();
