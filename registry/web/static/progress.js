// Poll an import's progress and reload the page when it is finished.
(function () {
  "use strict";
  const box = document.getElementById("progress");
  if (!box) return;
  const rows = document.getElementById("rows");
  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        rows.textContent = s.rows.toLocaleString("en");
        if (s.state === "running") setTimeout(poll, 500);
        else window.location.reload();
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();
