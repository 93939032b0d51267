// Page "backpropagation": one step of a 2-3-2 network, every number from the server's
// nerve.diagnostics.backprop_steps, shown one step at a time.
import { api } from './api.js';

const $ = (id) => document.getElementById(id);
const B = { data: null, steps: [], pos: 0 };
const f4 = (v) => Number(v).toFixed(4);
const vec = (a) => `[${a.map(f4).join(', ')}]`;
const mat = (m) => m.map(vec).join('\n          ');

export function initBackprop() {
  window.nerve.backprop = B;
  $('bp-run').onclick = load;
  $('bp-next').onclick = () => go(B.pos + 1);
  $('bp-prev').onclick = () => go(B.pos - 1);
  load();
}

async function load() {
  const num = (id) => Number($(id).value);
  try {
    B.data = await api('/api/backprop', {
      x: [num('bp-x1'), num('bp-x2')], target: [num('bp-t1'), num('bp-t2')],
      activation: $('bp-act').value, lr: num('bp-lr'), seed: num('bp-seed'),
    });
  } catch (e) { $('bp-steps').innerHTML = `<li>error: ${e.message}</li>`; return; }
  B.steps = describe(B.data);
  const ol = $('bp-steps');
  ol.innerHTML = '';
  B.steps.forEach((s) => { const li = document.createElement('li'); li.textContent = s.text; ol.appendChild(li); });
  go(0);
}

function describe(d) {
  const f = d.forward, bw = d.backward, up = d.updates, act = f[0].activation;
  const deriv = { sigmoid: "σ'(z) = a(1 − a)", tanh: "tanh'(z) = 1 − a²", relu: "relu'(z) = 1 if z > 0 else 0", identity: '1' }[act];
  const s = [];
  s.push({ at: 'start', text: `start: x = ${vec(d.x)}, target t = ${vec(d.target)}, learning rate ${d.lr}\n  W1 = ${mat(up[0].W)}\n  b1 = ${vec(up[0].b)}\n  W2 = ${mat(up[1].W)}\n  b2 = ${vec(up[1].b)}` });
  f.forEach((l, i) => {
    s.push({ at: `z${i + 1}`, text: `forward, layer ${l.layer}: z${l.layer} = W${l.layer} ${i ? `a${i}` : 'x'} + b${l.layer} = ${vec(l.z)}` });
    s.push({ at: `a${i + 1}`, text: `forward, layer ${l.layer}: a${l.layer} = ${l.activation}(z${l.layer}) = ${vec(l.a)}` });
  });
  s.push({ at: 'loss', text: `loss = mean((a2 − t)²) = ${Number(d.loss).toFixed(6)}` });
  s.push({ at: 'dout', text: `∂loss/∂a2 = 2(a2 − t)/2 = ${vec(d.dloss_dout)}` });
  bw.forEach((b) => {
    const L = b.layer;
    if (L < f.length) s.push({ at: `da${L}`, text: `∂loss/∂a${L} = W${L + 1}ᵀ δ${L + 1} = ${vec(b.dloss_da)}` });
    s.push({ at: `delta${L}`, text: `local gradient ${deriv} at layer ${L} = ${vec(b.dact_dz)}\nδ${L} = ∂loss/∂z${L} = ∂loss/∂a${L} ⊙ ${act}'(z${L}) = ${vec(b.delta)}` });
    s.push({ at: `dW${L}`, text: `∂loss/∂W${L} = δ${L} ${L > 1 ? `a${L - 1}` : 'x'}ᵀ = ${mat(b.dW)}\n∂loss/∂b${L} = δ${L} = ${vec(b.db)}` });
  });
  up.slice().reverse().forEach((u) => {
    s.push({ at: `update${u.layer}`, text: `update: W${u.layer} ← W${u.layer} − ${d.lr}·∂loss/∂W${u.layer} = ${mat(u.W_new)}\n        b${u.layer} ← ${vec(u.b_new)}` });
  });
  return s;
}

function go(i) {
  B.pos = Math.max(0, Math.min(B.steps.length - 1, i));
  [...$('bp-steps').children].forEach((li, k) => {
    li.className = k === B.pos ? 'current' : k > B.pos ? 'future' : '';
  });
  $('bp-pos').textContent = `step ${B.pos + 1} of ${B.steps.length}`;
  draw();
}

function draw() {
  const c = $('bp-canvas'), g = c.getContext('2d'), d = B.data;
  g.clearRect(0, 0, c.width, c.height);
  const at = B.steps[B.pos].at, order = B.steps.map((s) => s.at), seen = (k) => order.indexOf(k) <= B.pos && order.indexOf(k) >= 0;
  const cols = [d.x, d.forward[0].a, d.forward[1].a];
  const X = [70, 280, 490], pos = cols.map((col, l) => col.map((_, j) => [X[l], 130 + (j - (col.length - 1) / 2) * 80]));
  const backward = (L) => d.backward.find((b) => b.layer === L);
  [0, 1].forEach((l) => {
    const u = d.updates[l], grads = backward(l + 1).dW, showGrad = seen(`dW${l + 1}`), showNew = seen(`update${l + 1}`);
    u.W.forEach((row, j) => row.forEach((w, k) => {
      const [x0, y0] = pos[l][k], [x1, y1] = pos[l + 1][j];
      const val = showNew ? u.W_new[j][k] : w;
      g.strokeStyle = val >= 0 ? '#4a90d9' : '#d9534f';
      g.lineWidth = 1 + Math.min(4, Math.abs(val) * 3);
      g.beginPath(); g.moveTo(x0, y0); g.lineTo(x1, y1); g.stroke();
      g.fillStyle = '#333'; g.font = '10px sans-serif';
      const mx = x0 + (x1 - x0) * 0.3, my = y0 + (y1 - y0) * 0.3;
      g.fillText(showGrad ? `${f4(val)} (∇${f4(grads[j][k])})` : f4(val), mx - 20, my - 3);
    }));
  });
  pos.forEach((col, l) => col.forEach(([x, y], j) => {
    const known = l === 0 || seen(`a${l}`);
    g.fillStyle = known ? '#ffe9a8' : '#eee';
    g.strokeStyle = '#555'; g.lineWidth = 1.5;
    g.beginPath(); g.arc(x, y, 22, 0, 2 * Math.PI); g.fill(); g.stroke();
    g.fillStyle = '#000'; g.font = '11px sans-serif';
    if (known) g.fillText(f4(cols[l][j]), x - 19, y + 4);
    if (l > 0 && seen(`delta${l}`)) { g.fillStyle = '#b00'; g.fillText(`δ ${f4(backward(l).delta[j])}`, x - 22, y + 36); }
  }));
  if (seen('loss')) { g.fillStyle = '#000'; g.font = '13px sans-serif'; g.fillText(`loss ${Number(d.loss).toFixed(6)}`, 430, 20); }
  g.fillStyle = '#555'; g.font = '12px sans-serif'; g.fillText(`now: ${at}`, 10, 20);
}
