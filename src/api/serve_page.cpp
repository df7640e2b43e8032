// The single page `posefer serve` answers at "/": pick, drop or capture a photo, POST it to
// /v1/recognize, draw boxes, landmarks and per-face expression bars. No external resources.
// /?selftest=1 runs /v1/sample.png through the same upload path and writes the result into
// <pre id="result" data-faces="N" data-labels="top1,top2,..."> for headless browser checks.
#include <string>

#include "posefer/api/serve.h"

namespace posefer {

const std::string& serve_page_html() {
  static const std::string html = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>posefer: expressions</title>
<style>
body{font:15px system-ui,sans-serif;margin:1.2em;color:#222;background:#fafafa}
#drop{border:2px dashed #889;border-radius:8px;padding:1em;text-align:center;margin-bottom:1em;background:#fff}
#drop.over{background:#eef}
#view{max-width:100%;border:1px solid #ccc;background:#fff}
.face{display:inline-block;vertical-align:top;margin:0 1em 1em 0;padding:.5em .8em;background:#fff;border:1px solid #ddd;border-radius:6px}
.bar{display:flex;align-items:center;font-size:13px}
.bar span{width:6.5em}.bar i{display:block;height:10px;background:#4a7;margin-right:.4em}
#status{color:#555}#result{font-size:11px;max-height:20em;overflow:auto;background:#f0f0f0;padding:.5em}
video{max-width:320px;display:none}
</style></head><body>
<h1>posefer</h1>
<p id="model">model: ...</p>
<div id="drop">Drop a photo here, or <input type="file" id="file" accept="image/*">
 <button id="cam">Webcam</button> <button id="snap" disabled>Take photo</button><br><video id="video" autoplay playsinline></video></div>
<p id="status">Choose a photo.</p>
<canvas id="view" width="640" height="360"></canvas>
<div id="faces"></div>
<pre id="result" data-faces="" data-labels=""></pre>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const colours = ["#e33", "#27c", "#2a5", "#d80", "#a3c", "#0aa", "#777"];
let labels = [];

fetch("/v1/model").then((r) => r.json()).then((m) => {
  labels = m.labels || [];
  let acc = m.accuracy && m.accuracy.expression != null ? ", test accuracy " + (100 * m.accuracy.expression).toFixed(1) + "%" : "";
  $("model").textContent = "model: " + m.name + " (" + m.backbone + ", " + labels.join(", ") + acc + ")";
}).catch(() => {});

function fmtAngle(a) { return a === null || a === undefined ? "n/a" : a.toFixed(1) + "\u00b0"; }

function draw(img, res) {
  const c = $("view"), ctx = c.getContext("2d");
  const scale = Math.min(1, 900 / img.width);
  c.width = Math.round(img.width * scale); c.height = Math.round(img.height * scale);
  ctx.drawImage(img, 0, 0, c.width, c.height);
  const box = $("faces"); box.innerHTML = "";
  res.faces.forEach((f, i) => {
    const col = colours[i % colours.length], b = f.box;
    ctx.strokeStyle = col; ctx.lineWidth = 2;
    ctx.strokeRect(b.x * scale, b.y * scale, b.width * scale, b.height * scale);
    ctx.fillStyle = col;
    for (const p of f.landmarks) ctx.fillRect(p[0] * scale - 1, p[1] * scale - 1, 3, 3);
    ctx.font = "bold 14px system-ui,sans-serif";
    ctx.fillText((i + 1) + ": " + f.expression, b.x * scale, Math.max(12, b.y * scale - 4));
    const div = document.createElement("div"); div.className = "face"; div.style.borderColor = col;
    const hp = f.head_pose || {};
    let html = "<b>face " + (i + 1) + ": <span class=\"label\">" + f.expression + "</span></b> " +
      (100 * f.confidence).toFixed(0) + "%<br>yaw " + fmtAngle(hp.yaw) + ", pitch " + fmtAngle(hp.pitch) +
      ", roll " + fmtAngle(hp.roll) + (f.pose ? "<br>pose bin: " + f.pose : "") + "<br>";
    for (const [name, p] of Object.entries(f.expressions)) {
      html += "<div class=\"bar\"><span>" + name + "</span><i style=\"width:" + Math.round(120 * p) +
        "px\"></i>" + (100 * p).toFixed(1) + "%</div>";
    }
    div.innerHTML = html; box.appendChild(div);
  });
}

function show(res) {
  const r = $("result");
  r.textContent = JSON.stringify(res, null, 1);
  r.dataset.faces = String(res.faces ? res.faces.length : -1);
  r.dataset.labels = res.faces ? res.faces.map((f) => f.expression).join(",") : "";
  if (res.error) r.dataset.error = res.error;
}

function loadImage(blob) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => { URL.revokeObjectURL(img.src); resolve(img); };
    img.onerror = () => reject(new Error("the browser cannot show this image"));
    img.src = URL.createObjectURL(blob);
  });
}

// The one upload path (file picker, drop, webcam and the self-test all come here).
async function upload(blob) {
  $("status").textContent = "Recognising...";
  const t0 = performance.now();
  try {
    const resp = await fetch("/v1/recognize", {method: "POST", headers: {"Content-Type": blob.type || "image/png"}, body: blob});
    const res = await resp.json();
    if (!resp.ok) { show(res); $("status").textContent = "Error " + resp.status + ": " + res.error; return res; }
    // Drawn first, then the result: a page showing the result has drawn it (the browser test).
    const img = await loadImage(blob);
    draw(img, res);
    show(res);
    $("status").textContent = res.faces.length + " face(s), " + res.width + " x " + res.height + " px, server " +
      res.timings_ms.total.toFixed(0) + " ms, round trip " + (performance.now() - t0).toFixed(0) + " ms";
    return res;
  } catch (e) {
    $("status").textContent = "Failed: " + e; show({error: String(e)}); return null;
  }
}

$("file").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0]);
});
$("cam").addEventListener("click", async () => {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    $("status").textContent = "This browser gives no webcam here (it needs https or localhost)."; return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({video: true});
    const v = $("video"); v.srcObject = stream; v.style.display = "block"; $("snap").disabled = false;
  } catch (e) { $("status").textContent = "Webcam refused: " + e; }
});
$("snap").addEventListener("click", () => {
  const v = $("video"), c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight; c.getContext("2d").drawImage(v, 0, 0);
  c.toBlob((b) => upload(b), "image/png");
});

if (new URLSearchParams(location.search).get("selftest") === "1") {
  $("status").textContent = "Self-test: /v1/sample.png";
  fetch("/v1/sample.png").then((r) => r.blob()).then(upload);
}
</script></body></html>
)HTML";
  return html;
}

}  // namespace posefer
