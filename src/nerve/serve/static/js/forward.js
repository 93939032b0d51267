// The forward pass of a plain MLP in the browser, in float64, for instant feedback while
// drawing. The server's answer (nerve's own modules) replaces it as soon as it arrives; the
// tests check that both agree to 1e-6 on stored inputs.

const ACTIVATIONS = {
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
  relu: (z) => (z > 0 ? z : 0),
  tanh: (z) => Math.tanh(z),
  elu: (z) => (z > 0 ? z : Math.expm1(z)),
  leakyrelu: (z) => (z > 0 ? z : 0.01 * z),
  identity: (z) => z,
};

export function supports(activation) {
  return Object.prototype.hasOwnProperty.call(ACTIVATIONS, activation);
}

function softmax(logits) {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

// net: the JSON of GET /api/runs/{name}; pixels: 784 numbers in [0, 1].
// Returns {activations: [input, hidden..., logits], probabilities} like nerve.diagnostics.mlp_trace.
export function forward(net, pixels) {
  const f = ACTIVATIONS[net.activation];
  if (!f) throw new Error(`no local forward pass for activation ${net.activation}`);
  const { mean, std } = net.normalize;
  let a = Array.from(pixels, (p) => (p - mean) / std);
  const activations = [a];
  net.layers.forEach((layer, i) => {
    const last = i === net.layers.length - 1;
    const out = new Array(layer.weight.length);
    for (let j = 0; j < layer.weight.length; j++) {
      const row = layer.weight[j];
      let z = layer.bias[j];
      for (let k = 0; k < row.length; k++) z += row[k] * a[k];
      out[j] = last ? z : f(z);
    }
    a = out;
    activations.push(a);
  });
  return { activations, probabilities: softmax(a) };
}
