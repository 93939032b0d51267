// Page "train live": a LiveSession on the server, driven and watched over a websocket.
const $ = (id) => document.getElementById(id);
const T = { ws: null, history: [], points: null, image: false, running: false, boundary: null, findings: [] };

export function initTrain() {
  window.nerve.train = T;
  $('start-btn').onclick = start;
  $('pause-btn').onclick = () => send({ type: T.running ? 'pause' : 'resume' }, () => setRunning(!T.running));
  $('step-btn').onclick = () => send({ type: 'step', n: 1 });
  $('reset-btn').onclick = () => send({ type: 'reset' });
  $('lr-btn').onclick = () => send({ type: 'lr', value: Number($('lr-input').value) });
  $('save-btn').onclick = () => send({ type: 'save', name: $('save-name').value.trim() });
  document.querySelector('#train-form [name=dataset]').onchange = explainSave;
  explainSave();
  drawCurves();
}

function explainSave() {
  const ds = document.querySelector('#train-form [name=dataset]').value;
  const image = ds === 'mnist' || ds === 'fashion-mnist';
  $('save-btn').title = image ? 'save as a run folder that nerve evaluate opens'
    : 'only MNIST and Fashion-MNIST sessions can be saved: the 2-D sets are generated here, and a run folder names a dataset whose test split nerve evaluate loads from files';
}

function readConfig() {
  const f = new FormData($('train-form'));
  const num = (k) => Number(f.get(k));
  const hidden = String(f.get('hidden')).split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  return {
    dataset: f.get('dataset'), noise: num('noise'), train_fraction: num('train_fraction'), hidden,
    activation: f.get('activation'), optimizer: f.get('optimizer'), lr: Number($('lr-input').value),
    batch_size: num('batch_size'), regularization: f.get('regularization'), reg_rate: num('reg_rate'), seed: num('seed'),
  };
}

function message(text, bad) {
  const m = $('train-message');
  m.textContent = text;
  m.style.color = bad ? '#b00' : '';
}

function start() {
  const config = readConfig();
  const go = () => T.ws.send(JSON.stringify({ type: 'start', config }));
  message('starting…');
  if (T.ws && T.ws.readyState === WebSocket.OPEN) { go(); return; }
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  T.ws = new WebSocket(`${proto}://${location.host}/api/train`);
  T.ws.onopen = go;
  T.ws.onmessage = (ev) => receive(JSON.parse(ev.data));
  T.ws.onclose = () => { setRunning(false); $('train-state').textContent = 'disconnected'; };
}

function send(obj, after) {
  if (!T.ws || T.ws.readyState !== WebSocket.OPEN) { message('start a session first', true); return; }
  T.ws.send(JSON.stringify(obj));
  if (after) after();
}

function setRunning(on) {
  T.running = on;
  $('pause-btn').textContent = on ? 'pause' : 'resume';
  $('train-state').textContent = on ? 'training' : 'paused';
}

function receive(m) {
  if (m.type === 'started') {
    T.history = []; T.findings = []; T.points = m.points || null; T.image = m.image; T.boundary = null;
    $('findings').innerHTML = '<li class="muted">no findings</li>';
    for (const id of ['pause-btn', 'step-btn', 'reset-btn', 'lr-btn']) $(id).disabled = false;
    $('save-btn').disabled = !m.image;
    setRunning(m.running);
    message(`training ${m.config.dataset} with ${[m.image ? 784 : 2, ...m.config.hidden, m.classes.length].join('-')}, ${m.config.activation}, ${m.config.optimizer}`);
  } else if (m.type === 'metrics') {
    T.history.push(m);
    if (m.boundary) T.boundary = m.boundary;
    $('train-step').textContent = m.step;
    $('train-epoch').textContent = m.epoch;
    $('train-acc').textContent = `${(100 * m.train_accuracy).toFixed(1)} %`;
    $('test-acc').textContent = `${(100 * m.test_accuracy).toFixed(1)} %`;
    $('test-acc').dataset.value = String(m.test_accuracy);
    $('train-lr').textContent = m.lr;
    if (m.running !== T.running) setRunning(m.running);
    $('train-state').dataset.server = m.running ? 'running' : 'paused';   // what the server last said
    if (m.diverged) message('the loss became NaN or infinite: the run diverged; lower the learning rate and reset', true);
    drawCurves();
    drawBoundary();
  } else if (m.type === 'finding') {
    if (!T.findings.length) $('findings').innerHTML = '';
    T.findings.push(m);
    const li = document.createElement('li');
    li.className = m.severity;
    li.textContent = `${m.kind.replace('_', ' ')} (epoch ${m.epoch ?? '–'}): ${m.message}. Fix: ${m.fix}`;
    $('findings').appendChild(li);
  } else if (m.type === 'saved') {
    message(`saved as run ${m.name} (test accuracy ${(100 * m.test_accuracy).toFixed(2)} %); 'nerve evaluate ${m.path}' opens it`);
  } else if (m.type === 'error') {
    message(m.message, true);
  }
}

function plot(canvas, series, colours, lo, hi, label) {
  const g = canvas.getContext('2d'), w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  g.fillStyle = '#333'; g.font = '12px sans-serif'; g.fillText(label, 8, 14);
  const n = T.history.length;
  if (n < 1) return;
  const xs = (i) => 30 + ((w - 40) * i) / Math.max(1, n - 1);
  const ys = (v) => h - 18 - ((h - 36) * (v - lo)) / Math.max(1e-9, hi - lo);
  series.forEach((key, s) => {
    g.strokeStyle = colours[s]; g.lineWidth = 1.5; g.beginPath();
    T.history.forEach((r, i) => { const v = r[key]; if (v == null) return; i ? g.lineTo(xs(i), ys(v)) : g.moveTo(xs(i), ys(v)); });
    g.stroke();
    g.fillStyle = colours[s]; g.fillText(key.replace('_', ' '), w - 110, 14 + 14 * s);
  });
  g.fillStyle = '#777'; g.fillText(`step ${T.history[n - 1].step}`, w - 70, h - 4);
}

function drawCurves() {
  const losses = T.history.flatMap((r) => [r.train_loss, r.test_loss]).filter((v) => v != null);
  plot($('loss-canvas'), ['train_loss', 'test_loss'], ['#1f77b4', '#d62728'], 0, Math.max(0.1, ...losses), 'loss');
  plot($('acc-canvas'), ['train_accuracy', 'test_accuracy'], ['#1f77b4', '#d62728'], 0, 1, 'accuracy');
}

function drawBoundary() {
  const c = $('boundary-canvas'), g = c.getContext('2d');
  if (T.image || !T.boundary) { g.clearRect(0, 0, c.width, c.height); g.fillStyle = '#777'; g.fillText(T.image ? 'no decision boundary for images' : '', 10, 20); return; }
  const n = T.boundary.length, cell = c.width / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const p = T.boundary[i][j];   // P(class 1): orange for 1, blue for 0
      g.fillStyle = `rgb(${Math.round(240 * p + 90 * (1 - p))},${Math.round(170 * p + 150 * (1 - p))},${Math.round(90 * p + 230 * (1 - p))})`;
      g.fillRect(j * cell, i * cell, cell + 1, cell + 1);
    }
  }
  const ext = 1.6, px = (v) => ((v + ext) / (2 * ext)) * c.width, py = (v) => ((ext - v) / (2 * ext)) * c.height;
  const dot = (pts, labels, test) => pts.forEach(([x, y], i) => {
    g.fillStyle = labels[i] ? '#c25a00' : '#0b4f9c';
    g.strokeStyle = test ? '#000' : '#fff';
    g.beginPath(); g.arc(px(x), py(y), 3, 0, 2 * Math.PI); g.fill(); g.stroke();
  });
  dot(T.points.train, T.points.train_labels, false);
  dot(T.points.test, T.points.test_labels, true);
}
