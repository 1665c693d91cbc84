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
        var since = Math.max(0, Math.round((Date.now() - Date.parse(data.updated_at)) / 1000));
        document.getElementById("progress-text").textContent =
          data.progress + (isNaN(since) ? "" : " (" + since + " s)");
        var shown = document.getElementById("status");
        shown.textContent = data.status;
        if (open.indexOf(data.status) < 0) { window.location.reload(); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
}());

// The playground: calls /v1 with a short-lived token that acts as the signed-in person's key
// (POST /playground/token, with the session's CSRF token); answers are shown as text only.
(function () {
  "use strict";
  var root = document.getElementById("playground");
  if (!root) { return; }
  var csrf = root.getAttribute("data-csrf");
  var select = document.getElementById("pg-model");
  var output = document.getElementById("pg-output");
  var token = null;
  var tokenUntil = 0;

  function show(text) { output.textContent = text; }
  function category() { return select.options[select.selectedIndex].getAttribute("data-category"); }
  function panels() {
    var panelList = root.querySelectorAll(".pg-panel");
    for (var i = 0; i < panelList.length; i++) {
      var kinds = panelList[i].getAttribute("data-for").split(" ");
      panelList[i].hidden = kinds.indexOf(category()) < 0;
    }
    show("");
  }
  function auth() {
    if (token && Date.now() < tokenUntil) { return Promise.resolve(token); }
    return fetch("/playground/token", {method: "POST", credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf}})
      .then(function (r) { if (!r.ok) { throw new Error("sign in again"); } return r.json(); })
      .then(function (d) { token = d.token; tokenUntil = Date.now() + (d.expires_in - 30) * 1000; return token; });
  }
  function call(path, body, json) {
    return auth().then(function (t) {
      var headers = {"Authorization": "Bearer " + t};
      if (json) { headers["Content-Type"] = "application/json"; }
      return fetch("/v1" + path, {method: "POST", headers: headers, body: json ? JSON.stringify(body) : body});
    });
  }
  function failed(r) {
    return r.json().then(function (d) {
      throw new Error((d.error && d.error.message) || ("HTTP " + r.status));
    });
  }
  function guard(p) { p.catch(function (e) { show("Error: " + e.message); }); }

  document.getElementById("pg-chat").addEventListener("click", function () {
    show("");
    var body = {model: select.value, stream: true, max_tokens: 128,
      messages: [{role: "user", content: document.getElementById("pg-prompt").value}]};
    guard(call("/chat/completions", body, true).then(function (r) {
      if (!r.ok) { return failed(r); }
      var reader = r.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return; }
          buffer += decoder.decode(chunk.value, {stream: true});
          var lines = buffer.split("\n");
          buffer = lines.pop();
          lines.forEach(function (line) {
            if (line.indexOf("data: ") !== 0 || line === "data: [DONE]") { return; }
            var delta = JSON.parse(line.slice(6)).choices[0].delta;
            if (delta && delta.content) { output.textContent += delta.content; }
          });
          return pump();
        });
      }
      return pump();
    }));
  });
  document.getElementById("pg-similarity").addEventListener("click", function () {
    var texts = [document.getElementById("pg-text-a").value, document.getElementById("pg-text-b").value];
    guard(call("/embeddings", {model: select.value, input: texts}, true).then(function (r) {
      if (!r.ok) { return failed(r); }
      return r.json().then(function (d) {
        var a = d.data[0].embedding, b = d.data[1].embedding, dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        var cosine = dot / Math.sqrt(na * nb);
        show("Cosine similarity: " + cosine.toFixed(3) + " (1 = same meaning, 0 = unrelated)");
      });
    }));
  });
  document.getElementById("pg-rerank").addEventListener("click", function () {
    var docs = document.getElementById("pg-docs").value.split("\n").filter(function (s) { return s.trim(); });
    var body = {model: select.value, query: document.getElementById("pg-query").value, documents: docs};
    guard(call("/rerank", body, true).then(function (r) {
      if (!r.ok) { return failed(r); }
      return r.json().then(function (d) {
        show(d.results.map(function (x, n) {
          return (n + 1) + ". " + x.relevance_score.toFixed(3) + "  " + docs[x.index];
        }).join("\n"));
      });
    }));
  });
  document.getElementById("pg-transcribe").addEventListener("click", function () {
    var file = document.getElementById("pg-audio").files[0];
    if (!file) { show("Choose an audio file first."); return; }
    var form = new FormData();
    form.append("model", select.value);
    form.append("file", file);
    guard(call("/audio/transcriptions", form, false).then(function (r) {
      if (!r.ok) { return failed(r); }
      return r.json().then(function (d) { show(d.text); });
    }));
  });
  select.addEventListener("change", panels);
  panels();
}());
