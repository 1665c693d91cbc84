// Live progress on a request page: polls the admin API while the request is vetted and
// reloads the page when the outcome is in. Without JavaScript, a <noscript> refresh does it.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var open = ["queued", "vetting"];
  var status = box.getAttribute("data-status");
  if (open.indexOf(status) < 0) { return; }
  var url = "/admin/api/requests/" + encodeURIComponent(box.getAttribute("data-request"));
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { setTimeout(poll, 3000); return; }
        document.getElementById("progress-text").textContent = data.progress;
        var shown = document.getElementById("status");
        shown.textContent = data.status;
        if (open.indexOf(data.status) < 0) { window.location.reload(); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
}());
