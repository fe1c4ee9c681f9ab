/**
 * The HTML of `GET /dashboard`: one document with its style and script inline, nothing fetched but
 * `/dashboard/data` on the same origin (see dashboard.ts for what the data means).
 *
 * The script draws, per datacenter, one SVG circle with a band per rack; in a band each node's
 * token ranges are arcs (from the previous token of the rack, exclusive, to the node's token), so a
 * rack that is a full replica covers its whole band. A table lists every node with its state and
 * this node's traffic to it. Rates are differences of successive samples. Elements carry
 * `data-*` attributes (data-ready, data-id, data-state) so tests and scripts can read the page.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dynomite-ts cluster</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 1.5rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  .sub { color: #777; margin-bottom: 1rem; }
  .cards { display: flex; flex-wrap: wrap; gap: .8rem; margin-bottom: 1rem; }
  .card { border: 1px solid #8884; border-radius: 6px; padding: .5rem .8rem; min-width: 8rem; }
  .card b { display: block; font-size: 1.3rem; }
  .rings { display: flex; flex-wrap: wrap; gap: 1.5rem; }
  figure { margin: 0; }
  figcaption { text-align: center; font-weight: 600; }
  table { border-collapse: collapse; margin-top: 1rem; }
  th, td { padding: .25rem .6rem; border-bottom: 1px solid #8883; text-align: left; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .state { font-weight: 600; }
  .state-DOWN, .state-REMOVED, .state-EXITING, .state-unreachable { color: #c0392b; }
  .state-NORMAL, .state-UP { color: #27ae60; }
  #error { color: #c0392b; min-height: 1.2rem; }
</style>
</head>
<body>
<h1>dynomite-ts cluster</h1>
<div class="sub" id="node"></div>
<div id="error"></div>
<div class="cards">
  <div class="card">client requests/s<b id="rps">-</b></div>
  <div class="card">latency p50 / p99 (us)<b id="latency">-</b></div>
  <div class="card">client connections<b id="conns">-</b></div>
  <div class="card">hints pending<b id="hints">-</b></div>
  <div class="card">read repairs<b id="repairs">-</b></div>
</div>
<div class="rings" id="rings"></div>
<table id="servers">
  <thead><tr><th>node</th><th>dc</th><th>rack</th><th>token</th><th>state</th><th>requests/s to it</th><th>errors</th><th>timeouts</th></tr></thead>
  <tbody></tbody>
</table>
<script>
"use strict";
const PERIOD_MS = Number(new URLSearchParams(location.search).get("interval")) || 1000;
const TOKEN_SPACE = 4294967296;
const PALETTE = ["#2e86de", "#e67e22", "#16a085", "#8e44ad", "#d35400", "#2c3e50", "#c0392b", "#27ae60"];
const DOWN = new Set(["DOWN", "REMOVED", "EXITING", "unreachable"]);
const SVG = "http://www.w3.org/2000/svg";
let previous = null;

function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function tokensOf(server) {
  return server.token.split(",").map(Number).filter((t) => Number.isFinite(t));
}

function point(cx, cy, r, token) {
  const a = (token / TOKEN_SPACE) * 2 * Math.PI - Math.PI / 2;
  return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
}

function arc(cx, cy, r, from, to) {
  let span = to - from;
  if (span <= 0) span += TOKEN_SPACE;
  if (span >= TOKEN_SPACE - 1) {
    return "M " + (cx - r) + " " + cy + " a " + r + " " + r + " 0 1 0 " + 2 * r + " 0 a " + r + " " + r + " 0 1 0 " + -2 * r + " 0";
  }
  const [x1, y1] = point(cx, cy, r, from);
  const [x2, y2] = point(cx, cy, r, from + span);
  return "M " + x1 + " " + y1 + " A " + r + " " + r + " 0 " + (span > TOKEN_SPACE / 2 ? 1 : 0) + " 1 " + x2 + " " + y2;
}

function drawRing(dc, servers, colours) {
  const racks = [...new Set(servers.map((s) => s.rack))];
  const size = 260, c = size / 2, band = Math.min(26, 90 / Math.max(1, racks.length));
  const svg = el("svg:svg", { width: size, height: size, viewBox: "0 0 " + size + " " + size, "data-dc": dc });
  racks.forEach((rack, i) => {
    const r = c - 12 - i * (band + 4) - band / 2;
    const ranges = [];
    for (const s of servers.filter((x) => x.rack === rack)) for (const t of tokensOf(s)) ranges.push({ s, t });
    ranges.sort((a, b) => a.t - b.t);
    ranges.forEach((range, j) => {
      const from = ranges[(j + ranges.length - 1) % ranges.length].t;
      const down = DOWN.has(range.s.state);
      const path = el("svg:path", {
        d: arc(c, c, r, from, range.t), fill: "none", "stroke-width": band,
        stroke: down ? "#999" : colours.get(range.s.id), "stroke-dasharray": down ? "4 3" : "none",
        "data-id": range.s.id, "data-state": range.s.state,
      });
      path.appendChild(el("svg:title", {}, range.s.name + " " + range.s.id + " (" + rack + ") " + range.s.state + ", token " + range.t));
      svg.appendChild(path);
    });
    svg.appendChild(el("svg:text", { x: c, y: c - r + 4, "text-anchor": "middle", "font-size": 10, fill: "currentColor" }, rack));
  });
  const fig = el("figure");
  fig.appendChild(svg);
  fig.appendChild(el("figcaption", {}, dc));
  return fig;
}

function rate(now, before, pick) {
  if (!before) return "-";
  const dt = (now.sampledAt - before.sampledAt) / 1000;
  if (dt <= 0) return "-";
  return Math.max(0, (pick(now) - pick(before)) / dt).toFixed(1);
}

function linkOf(data, id) {
  const s = data && data.servers.find((x) => x.id === id);
  return s && s.link ? s.link : undefined;
}

function render(data) {
  document.getElementById("node").textContent =
    data.node.source + " · " + data.node.dc + " / " + data.node.rack + " · state " + data.node.state + " · up " + data.uptime + " s";
  document.getElementById("rps").textContent = rate(data, previous, (d) => d.client.requests);
  document.getElementById("latency").textContent = data.client.latencyUs.p50 + " / " + data.client.latencyUs.p99;
  document.getElementById("conns").textContent = data.client.connections;
  document.getElementById("hints").textContent = data.hintsPending;
  document.getElementById("repairs").textContent = data.readRepairs;

  const colours = new Map(data.servers.map((s, i) => [s.id, PALETTE[i % PALETTE.length]]));
  const rings = document.getElementById("rings");
  rings.replaceChildren(...[...new Set(data.servers.map((s) => s.dc))].map((dc) => drawRing(dc, data.servers.filter((s) => s.dc === dc), colours)));

  const body = document.querySelector("#servers tbody");
  body.replaceChildren(...data.servers.map((s) => {
    const tr = el("tr", { "data-id": s.id, "data-state": s.state, "data-self": s.self });
    const before = linkOf(previous, s.id);
    const name = el("td");
    name.appendChild(el("span", { style: "color:" + colours.get(s.id) }, "\\u25cf "));
    name.appendChild(document.createTextNode(s.name + " " + s.id + (s.self ? " (this node)" : "")));
    tr.appendChild(name);
    tr.appendChild(el("td", {}, s.dc));
    tr.appendChild(el("td", {}, s.rack));
    tr.appendChild(el("td", { class: "num" }, s.token));
    tr.appendChild(el("td", { class: "state state-" + s.state, title: "from " + s.stateSource }, s.state));
    tr.appendChild(el("td", { class: "num" }, s.link ? rate({ sampledAt: data.sampledAt, v: s.link.requests }, before && { sampledAt: previous.sampledAt, v: before.requests }, (d) => d.v) : ""));
    tr.appendChild(el("td", { class: "num" }, s.link ? s.link.errors : ""));
    tr.appendChild(el("td", { class: "num" }, s.link ? s.link.timeouts : ""));
    return tr;
  }));
  previous = data;
  document.body.dataset.ready = "true";
  document.body.dataset.samples = String(Number(document.body.dataset.samples || 0) + 1);
}

async function poll() {
  try {
    const res = await fetch("/dashboard/data", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    document.getElementById("error").textContent = "";
  } catch (err) {
    document.getElementById("error").textContent = "stats endpoint unreachable: " + err.message;
  }
  setTimeout(poll, PERIOD_MS);
}
poll();
</script>
</body>
</html>
`;
