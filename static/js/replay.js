/* What-if: picking a starting point loads its parameters (the Load button does the same without script). */
(function () {
  "use strict";
  function init() {
    document.querySelectorAll("#replay-form select[name$='-source']").forEach(function (select) {
      select.addEventListener("change", function () {
        var role = select.name.slice(0, -"-source".length);
        select.form.querySelector("button[name=load][value='" + role + "']").click();
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
