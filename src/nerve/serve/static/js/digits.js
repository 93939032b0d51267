// Page "the digit network": draw a digit, see every neuron of a trained MLP respond.
import { api } from './api.js';
import { forward, supports } from './forward.js';

const S = { net: null, name: null, pixels: new Float64Array(784), trace: null, source: '', layout: null, serverTimer: null, seq: 0 };
const $ = (id) => document.getElementById(id);

export async function initDigits() {
  window.nerve.digits = S;
  setupDrawing();
  $('clear-btn').onclick = () => { S.pixels.fill(0); $('sample-label').textContent = ''; changed(); };
  $('sample-btn').onclick = () => loadSample(Number($('sample-index').value));
  $('random-btn').onclick = () => { const i = Math.floor(Math.random() * 10000); $('sample-index').value = i; loadSample(i); };
  $('run-select').onchange = () => openRun($('run-select').value);
  $('net-canvas').addEventListener('mousemove', hover);
  $('net-canvas').addEventListener('mouseleave', () => { $('hover-box').hidden = true; });
  await loadRuns();
}

async function loadRuns() {
  const info = $('run-info');
  try {
    let { runs } = await api('/api/runs');
    if (!runs.some((r) => r.ok)) {
      info.textContent = 'no run yet: training the chapter-1 network (784-16-16-10, sigmoid) on MNIST…';
      await api('/api/runs/default', {});
      ({ runs } = await api('/api/runs'));
    }
    const status = await api('/api/status');
    const sel = $('run-select');
    sel.innerHTML = '';
    for (const r of runs) {
      const o = document.createElement('option');
      o.value = r.name;
      o.disabled = !r.ok;
      o.textContent = r.ok ? `${r.name} (${r.model}, ${r.dataset}${r.test_accuracy != null ? `, ${(100 * r.test_accuracy).toFixed(1)} %` : ''})`
        : `${r.name}: ${r.reason}`;
      sel.appendChild(o);
    }
    const first = runs.find((r) => r.ok && r.name === status.initial_run) || runs.find((r) => r.ok);
    if (first) { sel.value = first.name; await openRun(first.name); }
  } catch (e) {
    info.textContent = `error: ${e.message}`;
  }
}

async function openRun(name) {
  S.net = await api(`/api/runs/${encodeURIComponent(name)}`);
  S.name = name;
  $('run-info').textContent = `${S.net.sizes.join('-')}, ${S.net.activation}` +
    (S.net.test_accuracy != null ? `, test accuracy ${(100 * S.net.test_accuracy).toFixed(2)} %` : '');
  document.body.dataset.run = name;
  changed();
}

async function loadSample(i) {
  const ds = S.net && S.net.dataset === 'fashion-mnist' ? 'fashion-mnist' : 'mnist';
  try {
    const s = await api(`/api/samples/${ds}/${i}`);
    S.pixels.set(s.pixels);
    $('sample-label').textContent = `${ds} test image ${i}: label ${s.class}`;
    changed();
  } catch (e) { $('sample-label').textContent = `error: ${e.message}`; }
}

// ------------------------------------------------------------------ drawing
function setupDrawing() {
  const c = $('draw-canvas');
  let down = false;
  const paint = (ev) => {
    const r = c.getBoundingClientRect();
    const x = ((ev.clientX - r.left) / r.width) * 28, y = ((ev.clientY - r.top) / r.height) * 28;
    for (let py = Math.floor(y - 2); py <= Math.ceil(y + 2); py++) {
      for (let px = Math.floor(x - 2); px <= Math.ceil(x + 2); px++) {
        if (px < 0 || py < 0 || px > 27 || py > 27) continue;
        const d = Math.hypot(px + 0.5 - x, py + 0.5 - y);
        const v = Math.max(0, Math.min(1, 1.4 - d / 1.4));   // a soft pen about 3 pixels wide
        S.pixels[py * 28 + px] = Math.max(S.pixels[py * 28 + px], v);
      }
    }
    changed();
  };
  c.addEventListener('pointerdown', (ev) => { down = true; c.setPointerCapture(ev.pointerId); paint(ev); });
  c.addEventListener('pointermove', (ev) => { if (down) paint(ev); });
  const up = () => { down = false; };
  c.addEventListener('pointerup', up);
  c.addEventListener('pointercancel', up);
}

function drawInput() {
  const c = $('draw-canvas'), g = c.getContext('2d');
  const img = g.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * S.pixels[i]);
    img.data.set([v, v, v, 255], 4 * i);
  }
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = 28;
  tmp.getContext('2d').putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(tmp, 0, 0, c.width, c.height);
}

// ------------------------------------------------------------------ forward passes
function changed() {
  drawInput();
  if (!S.net) return;
  if (supports(S.net.activation)) {           // instant: the same arithmetic, in the page
    S.trace = forward(S.net, S.pixels);
    S.source = 'local';
    render();
  }
  clearTimeout(S.serverTimer);
  S.serverTimer = setTimeout(askServer, 60);
}

async function askServer() {
  const seq = ++S.seq, local = S.trace;
  try {
    const t = await api(`/api/runs/${encodeURIComponent(S.name)}/forward`, { pixels: Array.from(S.pixels) });
    if (seq !== S.seq) return;
    let diff = null;
    if (local && S.source === 'local') {
      diff = Math.max(...t.probabilities.map((p, i) => Math.abs(p - local.probabilities[i])));
    }
    S.trace = t;
    S.source = 'server';
    render();
    $('forward-source').textContent = 'outputs from nerve on the server' +
      (diff != null ? ` (the page's own pass differed by ${diff.toExponential(1)})` : '');
    document.body.dataset.forwards = String(Number(document.body.dataset.forwards || 0) + 1);
  } catch (e) { $('forward-source').textContent = `error: ${e.message}`; }
}

// ------------------------------------------------------------------ rendering
function render() {
  renderBars();
  renderNet();
}

function renderBars() {
  const p = S.trace.probabilities, top = p.indexOf(Math.max(...p));
  const box = $('bars');
  box.innerHTML = '';
  p.forEach((v, i) => {
    const row = document.createElement('div');
    row.className = 'bar-row' + (i === top ? ' top' : '');
    row.dataset.prob = String(v);
    row.innerHTML = `<span class="bar-label">${short(i)}</span><span class="bar" style="width:${Math.round(160 * v) + 1}px"></span><span class="bar-value">${(100 * v).toFixed(1)}%</span>`;
    box.appendChild(row);
  });
  $('prediction').textContent = S.net.classes[top] ?? String(top);
}

function layoutNet(c) {
  const sizes = S.net.sizes, n = sizes.length;
  const cols = [];
  const img = { x: 16, y: c.height / 2 - 56, size: 112 };
  for (let l = 1; l < n; l++) {
    const x = 170 + ((c.width - 220) * (l - 1)) / Math.max(1, n - 2);
    const step = Math.min(26, (c.height - 30) / sizes[l]);
    const y0 = c.height / 2 - (step * (sizes[l] - 1)) / 2;
    cols.push(Array.from({ length: sizes[l] }, (_, j) => ({ x, y: y0 + j * step, r: Math.min(9, step / 2 - 1) })));
  }
  return { img, cols };
}

function colour(w, alpha) {
  return w >= 0 ? `rgba(80,160,255,${alpha})` : `rgba(255,100,70,${alpha})`;
}

function renderNet() {
  const c = $('net-canvas'), g = c.getContext('2d');
  const L = layoutNet(c);
  S.layout = L;
  g.clearRect(0, 0, c.width, c.height);
  const acts = S.trace.activations;
  // input image
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = 28;
  const id = tmp.getContext('2d').createImageData(28, 28);
  for (let i = 0; i < 784; i++) { const v = Math.round(255 * S.pixels[i]); id.data.set([v, v, v, 255], 4 * i); }
  tmp.getContext('2d').putImageData(id, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(tmp, L.img.x, L.img.y, L.img.size, L.img.size);
  g.strokeStyle = '#666';
  g.strokeRect(L.img.x, L.img.y, L.img.size, L.img.size);
  // the strongest weights of every layer as lines
  S.net.layers.forEach((layer, l) => {
    const flat = [];
    layer.weight.forEach((row, j) => row.forEach((w, k) => flat.push([Math.abs(w), w, j, k])));
    flat.sort((a, b) => b[0] - a[0]);
    const keep = flat.slice(0, l === 0 ? 80 : 60), max = keep.length ? keep[0][0] : 1;
    for (const [a, w, j, k] of keep) {
      const to = L.cols[l][j];
      let fx, fy;
      if (l === 0) {
        fx = L.img.x + ((k % 28) + 0.5) * (L.img.size / 28);
        fy = L.img.y + (Math.floor(k / 28) + 0.5) * (L.img.size / 28);
      } else { fx = L.cols[l - 1][k].x; fy = L.cols[l - 1][k].y; }
      g.strokeStyle = colour(w, 0.15 + 0.6 * (a / max));
      g.lineWidth = 0.5 + 1.5 * (a / max);
      g.beginPath(); g.moveTo(fx, fy); g.lineTo(to.x, to.y); g.stroke();
    }
  });
  // neurons: brightness is the activation (outputs: the probability)
  L.cols.forEach((col, l) => {
    const last = l === L.cols.length - 1;
    const vals = last ? S.trace.probabilities : acts[l + 1];
    const bounded = last || S.net.activation === 'sigmoid';
    const max = bounded ? 1 : Math.max(1e-9, ...vals.map(Math.abs));
    col.forEach((p, j) => {
      const v = Math.max(0, Math.min(1, Math.abs(vals[j]) / max));
      const b = Math.round(255 * v);
      g.fillStyle = `rgb(${b},${b},${b})`;
      g.strokeStyle = '#999';
      g.lineWidth = 1;
      g.beginPath(); g.arc(p.x, p.y, p.r, 0, 2 * Math.PI); g.fill(); g.stroke();
      if (last) {
        g.fillStyle = '#ddd';
        g.font = '12px sans-serif';
        g.fillText(short(j), p.x + p.r + 4, p.y + 4);
      }
    });
  });
}

// ------------------------------------------------------------------ hovering a neuron
function hover(ev) {
  if (!S.layout) return;
  const r = $('net-canvas').getBoundingClientRect();
  const x = ev.clientX - r.left, y = ev.clientY - r.top;
  let hit = null;
  S.layout.cols.forEach((col, l) => col.forEach((p, j) => { if (Math.hypot(p.x - x, p.y - y) <= p.r + 3) hit = [l, j]; }));
  const box = $('hover-box');
  if (!hit) return;            // the last neuron stays shown until the pointer leaves the picture
  const [l, j] = hit;
  // layer 1: its 784 incoming weights; deeper: the product of the weight matrices down to the
  // pixels (ignoring the nonlinearities), a rough picture of what excites the neuron
  let w = S.net.layers[l].weight[j].slice();
  for (let m = l - 1; m >= 0; m--) {
    const W = S.net.layers[m].weight, out = new Array(W[0].length).fill(0);
    w.forEach((wk, k) => W[k].forEach((v, i) => { out[i] += wk * v; }));
    w = out;
  }
  const max = Math.max(1e-12, ...w.map(Math.abs));
  const c = $('hover-canvas'), g = c.getContext('2d');
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = 28;
  const id = tmp.getContext('2d').createImageData(28, 28);
  w.forEach((v, i) => {
    const a = Math.round(255 * Math.abs(v) / max);
    id.data.set(v >= 0 ? [255 - a, 255 - a * 0.4, 255, 255] : [255, 255 - a * 0.6, 255 - a, 255], 4 * i);
  });
  tmp.getContext('2d').putImageData(id, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(tmp, 0, 0, c.width, c.height);
  const name = l === S.layout.cols.length - 1 ? `output ${S.net.classes[j] ?? j}` : `hidden layer ${l + 1}, neuron ${j}`;
  $('hover-text').textContent = l === 0 ? `${name}: its 784 incoming weights (blue +, red −)`
    : `${name}: its weights multiplied down to the pixels (nonlinearities ignored)`;
  box.hidden = false;
  box.dataset.neuron = `${l}:${j}`;
}

function short(i) {   // '3 - three' → '3'
  const name = S.net.classes[i];
  return name == null ? String(i) : String(name).split(' - ')[0];
}
