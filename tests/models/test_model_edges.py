"""Edge-case sweep of the generative and structured models and their training code, hunting
silent wrong answers: every objective and gradient recomputed independently (PyTorch as the
oracle, on tiny inputs) and the papers' definitions checked at their corners."""
import numpy as np
import pytest

import nerve as nv
from nerve import data, models, nn, optim
from nerve.train import GANTrainer, ModelObjective
from nerve.train.generative import discriminator_loss, generator_loss


def _copy_to_torch(torch, pairs):
    """Copy nerve parameters into torch parameters: ``pairs`` of (nerve Parameter, torch Parameter)."""
    with torch.no_grad():
        for ours, theirs in pairs:
            theirs.copy_(torch.tensor(ours.numpy()))


def _linears(seq):
    return [m for m in seq if type(m).__name__ == "Linear"]


# ------------------------------------------------------------------------------ GAN
def _tiny_gan():
    nv.manual_seed(0)
    return models.mlp_gan(data_dim=2, latent_dim=3, hidden=5, depth=1).double()


@pytest.mark.torch
def test_gan_losses_match_torch_bce_and_the_non_saturating_form():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(6, 1)) * 5, rng.normal(size=(6, 1)) * 5
    tr, tf = torch.tensor(real, requires_grad=True), torch.tensor(fake, requires_grad=True)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    t_d = bce(tr, torch.ones_like(tr)) + bce(tf, torch.zeros_like(tf))
    t_g = bce(tf, torch.ones_like(tf))                  # −log D(G(z)): non-saturating
    nr, nf = nv.tensor(real, requires_grad=True), nv.tensor(fake, requires_grad=True)
    d, g = discriminator_loss(nr, nf), generator_loss(nf)
    np.testing.assert_allclose(d.item(), t_d.item(), rtol=1e-12)
    np.testing.assert_allclose(g.item(), t_g.item(), rtol=1e-12)
    (t_d + t_g).backward()
    (d + g).backward()
    np.testing.assert_allclose(nr.grad.numpy(), tr.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(nf.grad.numpy(), tf.grad.numpy(), rtol=1e-10)
    # the non-saturating gradient stays large where the discriminator wins (D(G(z)) → 0)
    confident = nv.tensor([[-30.0]], dtype=nv.float64, requires_grad=True)
    generator_loss(confident).backward()
    assert confident.grad.item() == pytest.approx(-1.0, abs=1e-9)


@pytest.mark.torch
@pytest.mark.parametrize("d_steps", [1, 2])
def test_one_gan_trainer_step_equals_a_torch_transcription(d_steps):
    """One batch: D step on D(x) vs D(G(z).detach()), then a G step with fresh noise through the
    updated D; the D step leaves G alone, the G step leaves D alone (and its .grad untouched)."""
    torch = pytest.importorskip("torch")
    gan = _tiny_gan()
    tg = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)).double()
    td = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.LeakyReLU(0.2), torch.nn.Linear(5, 1)).double()
    pairs = [(o.weight, t.weight) for o, t in zip(_linears(gan.generator) + _linears(gan.discriminator),
                                                   [tg[0], tg[2], td[0], td[2]])]
    pairs += [(o.bias, t.bias) for o, t in zip(_linears(gan.generator) + _linears(gan.discriminator),
                                               [tg[0], tg[2], td[0], td[2]])]
    _copy_to_torch(torch, pairs)
    x = np.random.default_rng(1).normal(size=(8, 2))
    trainer = GANTrainer(gan, optim.SGD(gan.generator.parameters(), lr=0.5),
                         optim.SGD(gan.discriminator.parameters(), lr=0.5), seed=7, d_steps=d_steps)
    trainer.fit(data.DataLoader(data.TensorDataset(x), batch_size=8), epochs=1)

    noise = np.random.default_rng(7)
    og, od = torch.optim.SGD(tg.parameters(), lr=0.5), torch.optim.SGD(td.parameters(), lr=0.5)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    xr = torch.tensor(x)
    for _ in range(d_steps):                     # the same real batch, fresh noise each time
        fake = tg(torch.tensor(noise.standard_normal((8, 3)))).detach()
        d_loss = bce(td(xr), torch.ones(8, 1, dtype=torch.float64)) + bce(td(fake), torch.zeros(8, 1, dtype=torch.float64))
        od.zero_grad()
        d_loss.backward()
        od.step()
    g_before_d = [p.detach().clone() for p in td.parameters()]
    logits = td(tg(torch.tensor(noise.standard_normal((8, 3)))))
    g_loss = bce(logits, torch.ones(8, 1, dtype=torch.float64))
    og.zero_grad()
    g_loss.backward()
    og.step()
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    for p, before in zip(td.parameters(), g_before_d):           # the transcription's own sanity
        assert torch.equal(p.detach(), before)
    assert trainer.history["loss_d"][0] == pytest.approx(d_loss.item(), rel=1e-10)
    assert trainer.history["loss_g"][0] == pytest.approx(g_loss.item(), rel=1e-10)


def test_generator_step_keeps_a_frozen_discriminator_parameter_frozen():
    """Regression: the G step used to switch requires_grad back on for EVERY discriminator
    parameter, so one the user had frozen was trained by d_optimizer from the next batch on."""
    gan = _tiny_gan()
    frozen = _linears(gan.discriminator)[0].weight
    frozen.requires_grad_(False)
    before = frozen.numpy().copy()
    trainer = GANTrainer(gan, optim.SGD(gan.generator.parameters(), lr=0.1),
                         optim.SGD(gan.discriminator.parameters(), lr=0.1))
    x = np.random.default_rng(0).normal(size=(16, 2))
    trainer.fit(data.DataLoader(data.TensorDataset(x), batch_size=8), epochs=2)
    assert not frozen.requires_grad
    np.testing.assert_array_equal(frozen.numpy(), before)
    assert all(p.requires_grad for p in _linears(gan.discriminator)[1].parameters())


# ------------------------------------------------------------------------------ VAE
def _vae(likelihood):
    nv.manual_seed(0)
    return models.get_model("vae", in_shape=(1, 2, 3), latent_dim=2, hidden=(4,), likelihood=likelihood).double()


@pytest.mark.torch
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_vae_loss_and_every_gradient_match_torch(likelihood):
    """Kingma & Welling: loss = mean over the batch of [ −Σ_pixels log p(x|z) + KL ], with
    KL = −½ Σ (1 + log σ² − μ² − σ²) per sample, z = μ + σ·ε; BCE on logits, summed over
    pixels (not averaged); the Gaussian's one learned log-scale gets its gradient too."""
    torch = pytest.importorskip("torch")
    vae = _vae(likelihood)
    tenc = [torch.nn.Linear(6, 4).double(), torch.nn.Linear(4, 4).double()]
    tdec = [torch.nn.Linear(2, 4).double(), torch.nn.Linear(4, 6).double()]
    ours = _linears(vae.encoder) + _linears(vae.decoder)
    pairs = [(o.weight, t.weight) for o, t in zip(ours, tenc + tdec)] + \
            [(o.bias, t.bias) for o, t in zip(ours, tenc + tdec)]
    _copy_to_torch(torch, pairs)
    rng = np.random.default_rng(3)
    x = rng.random((5, 1, 2, 3))
    eps = np.random.default_rng(11).standard_normal((5, 2))
    loss = vae.loss(nv.tensor(x), generator=np.random.default_rng(11))
    loss.backward()

    xt = torch.tensor(x).reshape(5, 6)
    h = tenc[1](torch.relu(tenc[0](xt)))
    mu, logvar = h[:, :2], h[:, 2:]
    z = mu + torch.exp(0.5 * logvar) * torch.tensor(eps)
    out = tdec[1](torch.relu(tdec[0](z)))
    if likelihood == "bernoulli":
        rec = torch.nn.functional.binary_cross_entropy_with_logits(out, xt, reduction="none").sum(1)
        log_scale = None
    else:
        log_scale = torch.zeros((), dtype=torch.float64, requires_grad=True)
        rec = -torch.distributions.Normal(out, log_scale.exp()).log_prob(xt).sum(1)
    kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)
    t_loss = (rec + kl).mean()
    t_loss.backward()
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-10)
    for o, t in pairs:
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-12)
    if log_scale is not None:
        np.testing.assert_allclose(vae.log_scale.grad.numpy(), log_scale.grad.numpy(), rtol=1e-8)


def test_vae_kl_is_zero_at_the_prior_and_positive_elsewhere():
    """The KL sign: q = N(0, I) costs nothing, any other posterior costs something."""
    from nerve.distributions import Independent, Normal, kl_divergence
    vae = _vae("bernoulli")
    zero = kl_divergence(Independent(Normal(nv.zeros(3, 2, dtype=nv.float64), nv.ones(3, 2, dtype=nv.float64)), 1),
                         vae.prior(3)).numpy()
    np.testing.assert_array_equal(zero, np.zeros(3))
    q = vae.posterior(nv.tensor(np.random.default_rng(0).random((4, 1, 2, 3))))
    assert (kl_divergence(q, vae.prior(4)).numpy() > 0).all()


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_vae_forward_is_deterministic_and_the_weights_round_trip(likelihood):
    """forward / reconstruct use the posterior mean (no draw), so they repeat exactly; a
    state_dict (including the Gaussian's 0-d log-scale) restores the same model."""
    vae = _vae(likelihood)
    if likelihood == "gaussian":
        vae.log_scale.data = nv.tensor(np.array(0.3))
    x = nv.tensor(np.random.default_rng(0).random((3, 1, 2, 3)))
    vae.eval()
    a, b = vae(x).numpy(), vae(x).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, vae.decode(vae.posterior(x).mean).numpy())
    nv.manual_seed(5)
    other = models.get_model("vae", in_shape=(1, 2, 3), latent_dim=2, hidden=(4,), likelihood=likelihood).double()
    other.load_state_dict(vae.state_dict())
    other.eval()
    np.testing.assert_array_equal(other(x).numpy(), a)
    np.testing.assert_array_equal(other.loss(x, generator=np.random.default_rng(1)).numpy(),
                                  vae.loss(x, generator=np.random.default_rng(1)).numpy())


# ------------------------------------------------------------------------------ GCN
def _torch_dense_gcn(torch, x, edge_index, weights, n, W, b, self_loops=True):
    """Kipf & Welling's propagation rule written densely: Â = A + I (A[target, source] = weight,
    an existing loop replaced by one of weight 1), D̂ the row sums of Â, D̂^-1/2 Â D̂^-1/2 X W + b
    with 0 for the rows of isolated nodes (degree 0)."""
    A = torch.zeros(n, n, dtype=torch.float64)
    for (s, t), w in zip(edge_index.T.tolist(), weights):
        if self_loops and s == t:
            continue
        A[t, s] += w
    if self_loops:
        A = A + torch.eye(n, dtype=torch.float64)
    d = A.sum(1)
    dinv = torch.where(d > 0, d.clamp_min(1e-300).rsqrt(), torch.zeros_like(d))
    return (dinv[:, None] * A * dinv[None, :]) @ x @ W.T + b


@pytest.mark.torch
@pytest.mark.parametrize("self_loops", [True, False])
def test_gcnconv_on_a_directed_weighted_graph_with_loops_and_an_isolated_node(self_loops):
    torch = pytest.importorskip("torch")
    # 0→1 (2.0), 1→2 (0.5), 2→0 (1.0), 1→1 an existing loop (3.0), 3→1 one-way; node 4 isolated
    e = np.array([[0, 1, 2, 1, 3], [1, 2, 0, 1, 1]])
    w = [2.0, 0.5, 1.0, 3.0, 1.5]
    rng = np.random.default_rng(0)
    nv.manual_seed(0)
    conv = nn.GCNConv(3, 2, self_loops=self_loops).double()
    nn.init.normal_(conv.bias)
    x = rng.standard_normal((5, 3))
    xn = nv.tensor(x, requires_grad=True)
    out = conv(xn, e, np.array(w))
    assert np.isfinite(out.numpy()).all()
    g = rng.standard_normal((5, 2))
    out.backward(nv.tensor(g))
    xt = torch.tensor(x, requires_grad=True)
    W = torch.tensor(conv.lin.weight.numpy(), requires_grad=True)
    b = torch.tensor(conv.bias.numpy(), requires_grad=True)
    ref = _torch_dense_gcn(torch, xt, e, w, 5, W, b, self_loops)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.lin.weight.grad.numpy(), W.grad.numpy(), rtol=1e-12, atol=1e-12)
    if not self_loops:      # the isolated node (and node 3, which nothing points to) gets only the bias
        np.testing.assert_allclose(out.numpy()[[3, 4]], np.tile(conv.bias.numpy(), (2, 1)), rtol=1e-15)


def test_gcn_norm_adds_each_self_loop_once():
    """A graph that already lists every loop gives the same matrix as the loop-free one: A + I,
    never A + 2I."""
    e = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    loops = np.concatenate([e, np.stack([np.arange(3)] * 2)], 1)
    x = nv.tensor(np.random.default_rng(0).standard_normal((3, 2)))
    nv.manual_seed(0)
    conv = nn.GCNConv(2, 2).double()
    np.testing.assert_allclose(conv(x, loops).numpy(), conv(x, e).numpy(), rtol=1e-14)
    _, norm = nn.gcn_norm(loops, 3)
    np.testing.assert_allclose(sorted(norm), sorted([1 / np.sqrt(2 * 3)] * 4 + [1 / 2, 1 / 3, 1 / 2]))


@pytest.mark.torch
def test_gcn_model_matches_torch_in_eval_and_round_trips():
    """The two-layer GCN in eval mode (dropout off): conv → ReLU → conv, as the dense formula;
    repeatable, and a state_dict restores it."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    e = np.array([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])        # a path 0-1-2-3 and node 4 alone
    x = rng.standard_normal((5, 4))
    nv.manual_seed(0)
    net = models.get_model("gcn", in_channels=4, hidden=3, num_classes=2, dropout=0.5).double()
    nn.init.normal_(net.conv1.bias)
    nn.init.normal_(net.conv2.bias)
    net.eval()
    out = net(nv.tensor(x), e).numpy()
    np.testing.assert_array_equal(out, net(nv.tensor(x), e).numpy())
    t = lambda p: torch.tensor(p.numpy())  # noqa: E731
    h = torch.relu(_torch_dense_gcn(torch, torch.tensor(x), e, [1.0] * 6, 5, t(net.conv1.lin.weight), t(net.conv1.bias)))
    ref = _torch_dense_gcn(torch, h, e, [1.0] * 6, 5, t(net.conv2.lin.weight), t(net.conv2.bias))
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-12, atol=1e-12)
    graph = data.Graph(x=nv.tensor(x), edge_index=e)
    np.testing.assert_array_equal(net(graph).numpy(), out)
    nv.manual_seed(9)
    other = models.get_model("gcn", in_channels=4, hidden=3, num_classes=2).double()
    other.load_state_dict(net.state_dict())
    other.eval()
    np.testing.assert_array_equal(other(nv.tensor(x), e).numpy(), out)


@pytest.mark.torch
@pytest.mark.parametrize("self_loops", [True, False])
def test_learnable_edge_weights_get_their_gradient(self_loops):
    """Regression: GCNConv turned a requires-grad edge_weight into NumPy inside gcn_norm, so
    learnable edge weights silently got no gradient. Compared with torch through the degrees."""
    torch = pytest.importorskip("torch")
    e = np.array([[0, 1, 2, 1, 3], [1, 2, 0, 1, 1]])
    w0 = np.array([2.0, 0.5, 1.0, 3.0, 1.5])
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3))
    g = rng.standard_normal((5, 2))
    nv.manual_seed(0)
    conv = nn.GCNConv(3, 2, self_loops=self_loops).double()
    w = nv.tensor(w0, requires_grad=True)
    out = conv(nv.tensor(x), e, w)
    np.testing.assert_allclose(out.numpy(), conv(nv.tensor(x), e, w0).numpy(), rtol=1e-12, atol=1e-14)
    out.backward(nv.tensor(g))
    assert w.grad is not None
    wt = torch.tensor(w0, requires_grad=True)
    src, dst, ww = torch.tensor(e[0]), torch.tensor(e[1]), wt
    if self_loops:
        keep = src != dst
        loops = torch.arange(5)
        src, dst = torch.cat([src[keep], loops]), torch.cat([dst[keep], loops])
        ww = torch.cat([wt[keep], torch.ones(5, dtype=torch.float64)])
    deg = torch.zeros(5, dtype=torch.float64).index_add(0, dst, ww)
    dinv = torch.where(deg > 0, deg.clamp_min(1e-300).rsqrt(), torch.zeros_like(deg))
    h = torch.tensor(x) @ torch.tensor(conv.lin.weight.numpy()).T
    ref = torch.zeros(5, 2, dtype=torch.float64).index_add(0, dst, h[src] * (dinv[src] * ww * dinv[dst])[:, None])
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy() + conv.bias.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ capsules
def _torch_squash(torch, s):
    sq = (s * s).sum(-1, keepdim=True)
    return sq / (1 + sq) * s / sq.sqrt()


@pytest.mark.torch
def test_margin_loss_matches_the_paper_in_torch():
    """Sabour et al. eq. 4 with m⁺ = 0.9, m⁻ = 0.1, λ = 0.5, summed over classes, averaged
    over the batch; lengths at exactly the margins cost nothing."""
    torch = pytest.importorskip("torch")
    lengths = np.array([[0.95, 0.05, 0.5], [0.3, 0.9, 0.1], [0.0, 0.99, 0.2]])
    y = np.array([0, 1, 2])
    ln = nv.tensor(lengths, requires_grad=True)
    loss = nn.margin_loss(ln, nv.tensor(y))
    loss.backward()
    lt = torch.tensor(lengths, requires_grad=True)
    T = torch.nn.functional.one_hot(torch.tensor(y), 3).double()
    ref = (T * torch.relu(0.9 - lt) ** 2 + 0.5 * (1 - T) * torch.relu(lt - 0.1) ** 2).sum(1).mean()
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-14)
    np.testing.assert_allclose(ln.grad.numpy(), lt.grad.numpy(), rtol=1e-12)
    # row 1: the true class at m⁺ and the others at/below m⁻ → only 0.5·0.2² from class 0
    per = nn.margin_loss(nv.tensor(lengths), nv.tensor(y), reduction="none").numpy()
    assert per[1] == pytest.approx(0.5 * 0.2 ** 2, abs=1e-15)


@pytest.mark.torch
def test_digit_caps_routing_and_squash_gradients_match_torch():
    """û = W u, three routing iterations (b updated twice: the third update is never used),
    squash; output and every gradient against a torch transcription."""
    torch = pytest.importorskip("torch")
    nv.manual_seed(0)
    caps = nn.DigitCaps(5, 3, 4, 2, routing_iters=3).double()
    u = np.random.default_rng(0).standard_normal((2, 5, 3))
    un = nv.tensor(u, requires_grad=True)
    v = caps(un)
    g = np.random.default_rng(1).standard_normal(v.shape)
    v.backward(nv.tensor(g))
    ut = torch.tensor(u, requires_grad=True)
    W = torch.tensor(caps.weight.numpy(), requires_grad=True)
    u_hat = torch.einsum("ijdk,nik->nijd", W, ut)
    b = torch.zeros(2, 5, 4, dtype=torch.float64)
    for r in range(3):
        c = torch.softmax(b, dim=2)
        vt = _torch_squash(torch, torch.einsum("nij,nijd->njd", c, u_hat))
        if r < 2:
            b = b + torch.einsum("nijd,njd->nij", u_hat, vt)
    vt.backward(torch.tensor(g))
    np.testing.assert_allclose(v.numpy(), vt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(un.grad.numpy(), ut.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(caps.weight.grad.numpy(), W.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_capsnet_is_deterministic_in_eval_and_round_trips():
    nv.manual_seed(0)
    net = models.CapsNet(image_size=6, conv_channels=4, primary_types=2, primary_dim=4, num_classes=3,
                         class_dim=4)
    x = nv.tensor(np.random.default_rng(0).random((2, 1, 6, 6)).astype(np.float32))
    net.eval()
    a = net(x).numpy()
    np.testing.assert_array_equal(a, net(x).numpy())
    assert ((a >= 0) & (a < 1)).all()
    nv.manual_seed(1)
    other = models.CapsNet(image_size=6, conv_channels=4, primary_types=2, primary_dim=4, num_classes=3,
                           class_dim=4)
    other.load_state_dict(net.state_dict())
    other.eval()
    np.testing.assert_array_equal(other(x).numpy(), a)
    # an all-zero input (zero capsules after a zero-bias conv) stays finite, gradient included
    zero = nv.zeros(1, 1, 6, 6, requires_grad=True)
    for p in net.parameters():
        if p.ndim == 1:
            p.data = nv.zeros(*p.shape)
    out = net(zero)
    nn.margin_loss(out, nv.tensor(np.array([0]))).backward()
    assert np.isfinite(out.numpy()).all() and np.isfinite(zero.grad.numpy()).all()


# ------------------------------------------------------------------------------ seq2seq
PAD, BOS, EOS = 0, 1, 2


def _all_complete_hypotheses(net, src_row, V, max_len):
    """Every hypothesis a decoder can finish within max_len (EOS last, or max_len tokens without
    EOS), with its total log-probability from teacher-forced logits (one batched call per length)."""
    import itertools
    hyps = []
    for L in range(1, max_len + 1):
        seqs = [s for s in itertools.product(range(V), repeat=L)
                if EOS not in s[:-1] and (L == max_len or s[-1] == EOS)]
        tgt = np.array([[BOS, *s] for s in seqs])
        logp = nv.functional.log_softmax(net(np.repeat(src_row[None], len(seqs), 0), tgt), -1).numpy()
        scores = np.take_along_axis(logp, tgt[:, 1:, None], 2)[..., 0].sum(1)
        hyps += [(s, sc) for s, sc in zip(seqs, scores)]
    return hyps


@pytest.mark.parametrize("seed, alpha", [(1, 3.0), (2, 1.5)])
def test_beam_search_ranks_by_the_documented_length_penalty(seed, alpha):
    """A beam wide enough to hold every hypothesis must return the one with the best
    score / ((5 + length) / 6) ** alpha (Wu et al. 2016), EOS counted in the length. (These
    seeds were picked so that leaving EOS out of the length changes the answer in ≥ 5 of the 6
    rows, and alpha = 3 changes one row's answer from the raw-score pick.)"""
    nv.manual_seed(seed)
    net = models.seq2seq(src_vocab=9, tgt_vocab=5, embed_dim=4, hidden_size=5).double()
    net.eval()
    src = np.random.default_rng(seed).integers(3, 9, size=(6, 4))
    out = net.beam_search(src, beam_width=125, max_len=3, bos=BOS, eos=EOS, length_penalty=alpha)
    for n in range(6):
        hyps = _all_complete_hypotheses(net, src[n], 5, 3)
        ranked = [sc / ((5 + len(s)) / 6) ** alpha for s, sc in hyps]
        best, best_score = hyps[int(np.argmax(ranked))]
        assert out.lengths[n] == len(best)
        assert tuple(out.tokens[n, :out.lengths[n]]) == best
        np.testing.assert_allclose(out.scores[n], best_score, rtol=1e-10)


def test_seq2seq_round_trips_and_decodes_repeatably():
    nv.manual_seed(0)
    net = models.seq2seq(src_vocab=9, tgt_vocab=6, embed_dim=4, hidden_size=5, cell="gru")
    src = np.array([[3, 4, 5, 0], [6, 7, 8, 3]])
    tgt = np.array([[BOS, 3, 4], [BOS, 5, EOS]])
    net.eval()
    a = net(src, tgt).numpy()
    np.testing.assert_array_equal(a, net(src, tgt).numpy())
    d1 = net.beam_search(src, 3, 5, BOS, EOS)
    nv.manual_seed(1)
    other = models.seq2seq(src_vocab=9, tgt_vocab=6, embed_dim=4, hidden_size=5, cell="gru")
    other.load_state_dict(net.state_dict())
    other.eval()
    np.testing.assert_array_equal(other(src, tgt).numpy(), a)
    d2 = other.beam_search(src, 3, 5, BOS, EOS)
    for x, y in zip(d1, d2):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------------------ sampling
def _torch_top_k_top_p(torch, logits, top_k=None, top_p=None):
    """The usual torch recipe (as the Hugging Face logits warpers): top-k keeps logits ≥ the k-th
    largest; top-p sorts ascending and drops the tokens whose cumulative probability is
    ≤ 1 − p, always keeping the most probable one."""
    z = torch.tensor(logits)
    if top_k is not None:
        k = min(top_k, z.shape[-1])
        z = z.masked_fill(z < torch.topk(z, k)[0][..., -1, None], float("-inf"))
    if top_p is not None:
        sorted_z, idx = torch.sort(z, descending=False)
        cum = sorted_z.softmax(-1).cumsum(-1)
        drop_sorted = cum <= 1 - top_p
        drop_sorted[..., -1:] = False
        z = z.masked_fill(drop_sorted.scatter(1, idx, drop_sorted), float("-inf"))
    return z.numpy()


@pytest.mark.torch
@pytest.mark.parametrize("top_k, top_p", [(None, 0.3), (None, 0.9), (None, 1.0), (3, None), (7, None),
                                          (50, None), (4, 0.5), (1, 0.99)])
def test_filter_logits_keeps_exactly_the_tokens_torch_keeps(top_k, top_p):
    from nerve.models.sampling import filter_logits
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((64, 7)) * rng.uniform(0.1, 4, (64, 1))
    z[::5, 2] = -np.inf                                   # some tokens banned before filtering
    ours = np.isfinite(filter_logits(z, top_k=top_k, top_p=top_p))
    theirs = np.isfinite(_torch_top_k_top_p(torch, z, top_k, top_p))
    np.testing.assert_array_equal(ours, theirs)
    kept = filter_logits(z, top_k=top_k, top_p=top_p)
    np.testing.assert_array_equal(kept[ours], z[ours])   # kept logits are untouched


def test_near_zero_temperature_is_argmax_and_never_picks_a_banned_token():
    from nerve.models.sampling import sample_logits
    rng = np.random.default_rng(1)
    z = rng.standard_normal((200, 9)) * 3
    z[:, 4] = -np.inf
    best = z.argmax(1)
    for t in (1e-3, 1e-12, 1e-300, 0):
        np.testing.assert_array_equal(sample_logits(z, temperature=t, generator=5), best)
    draws = sample_logits(np.tile(z[:1], (5000, 1)), temperature=10.0, top_k=9, top_p=1.0, generator=2)
    assert 4 not in draws and len(np.unique(draws)) == 8   # hot: every allowed token shows up


# ------------------------------------------------------------------------------ siamese
@pytest.mark.torch
def test_siamese_contrastive_step_matches_torch_through_the_shared_encoder():
    """Both branches share one encoder, so its gradient is the sum over the two sides;
    Hadsell et al.'s loss with y = 1 for similar pairs: ½ y d² + ½ (1 − y) max(0, m − d)²."""
    torch = pytest.importorskip("torch")
    nv.manual_seed(0)
    net = models.SiameseNet(in_features=4, hidden=5, embedding_dim=3).double()
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)).double()
    ours = _linears(net.encoder)
    pairs = [(o.weight, t.weight) for o, t in zip(ours, [tnet[0], tnet[2]])] + \
            [(o.bias, t.bias) for o, t in zip(ours, [tnet[0], tnet[2]])]
    _copy_to_torch(torch, pairs)
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((6, 1, 2, 2)), rng.standard_normal((6, 1, 2, 2))
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    e1, e2 = net(nv.tensor(x1), nv.tensor(x2))
    loss = nn.ContrastiveLoss(margin=1.5)(e1, e2, nv.tensor(y))
    loss.backward()
    t1, t2 = tnet(torch.tensor(x1).reshape(6, 4)), tnet(torch.tensor(x2).reshape(6, 4))
    d = torch.nn.functional.pairwise_distance(t1, t2)
    yt = torch.tensor(y)
    ref = (0.5 * yt * d ** 2 + 0.5 * (1 - yt) * torch.relu(1.5 - d) ** 2).mean()
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    for o, t in pairs:
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(net.distance(nv.tensor(x1), nv.tensor(x2)).numpy(), d.detach().numpy(), rtol=1e-12)
    # margin semantics: a dissimilar pair already beyond the margin costs nothing
    far = nv.tensor(np.array([[0.0, 0.0, 0.0]])), nv.tensor(np.array([[2.0, 0.0, 0.0]]))
    assert nn.ContrastiveLoss(margin=1.5)(*far, nv.tensor(np.array([0.0]))).item() == 0.0
    assert nn.ContrastiveLoss(margin=1.5)(*far, nv.tensor(np.array([1.0]))).item() == pytest.approx(2.0, rel=1e-5)


# ------------------------------------------------------------------------------ U-Net
@pytest.mark.parametrize("upsample", ["transpose", "bilinear"])
def test_unet_round_trips_with_its_batchnorm_statistics_and_rejects_odd_sizes(upsample):
    nv.manual_seed(0)
    net = models.UNet(1, 2, base=2, depth=2, upsample=upsample)
    x = nv.tensor(np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32))
    net(x)                                          # train mode: moves the running statistics
    net.eval()
    a = net(x).numpy()
    np.testing.assert_array_equal(a, net(x).numpy())
    nv.manual_seed(1)
    other = models.UNet(1, 2, base=2, depth=2, upsample=upsample)
    other.load_state_dict(net.state_dict())
    other.eval()
    np.testing.assert_array_equal(other(x).numpy(), a)
    with pytest.raises(ValueError, match="divisible by 2\\^depth = 4"):
        net(nv.zeros(1, 1, 9, 8))                   # odd: documented as an error, never a crop
    with pytest.raises(ValueError, match="divisible by 2\\^depth = 4"):
        net(nv.zeros(1, 1, 8, 6))


@pytest.mark.torch
@pytest.mark.parametrize("cell, bidirectional, num_layers", [("lstm", True, 2), ("gru", False, 1)])
def test_seq2seq_training_loss_and_gradients_match_a_torch_twin(cell, bidirectional, num_layers):
    """The whole teacher-forced model against torch: packed (padded) source through the encoder,
    final states of the last layer bridged, Bahdanau attention masked on padding, the decoder
    cell on [embedding; context], logits from [state; context; embedding]; cross-entropy that
    ignores target padding. Loss and every parameter's gradient."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    nv.manual_seed(0)
    net = models.seq2seq(src_vocab=9, tgt_vocab=6, embed_dim=4, hidden_size=5, cell=cell,
                         bidirectional=bidirectional, num_layers=num_layers).double()
    D = 2 if bidirectional else 1
    twin = tnn.ModuleDict({
        "src_emb": tnn.Embedding(9, 4, padding_idx=PAD),
        "rnn": (tnn.LSTM if cell == "lstm" else tnn.GRU)(4, 5, num_layers=num_layers, batch_first=True,
                                                         bidirectional=bidirectional),
        "bridge": tnn.Linear(5 * D, 5),
        "q": tnn.Linear(5, 5), "k": tnn.Linear(5 * D, 5, bias=False), "v": tnn.Linear(5, 1, bias=False),
        "tgt_emb": tnn.Embedding(6, 4),
        "cell": (tnn.LSTMCell if cell == "lstm" else tnn.GRUCell)(4 + 5 * D, 5),
        "out": tnn.Linear(5 + 5 * D + 4, 6),
    }).double()
    names = {"src_emb": "encoder.embedding", "rnn": "encoder.rnn", "bridge": "bridge", "q": "attention.query_proj",
             "k": "attention.key_proj", "v": "attention.score_proj", "tgt_emb": "decoder.embedding",
             "cell": "decoder.rnn", "out": "decoder.out"}
    ours = dict(net.named_parameters())
    theirs = {}
    for tname, p in twin.named_parameters():
        mod, rest = tname.split(".", 1)
        theirs[f"{names[mod]}.{rest}"] = p
    assert sorted(theirs) == sorted(ours)
    _copy_to_torch(torch, [(ours[k], theirs[k]) for k in ours])

    src = np.array([[3, 4, 5, 6], [7, 8, PAD, PAD], [5, PAD, PAD, PAD]])
    tgt = np.array([[BOS, 3, 4, EOS], [BOS, 5, EOS, PAD], [BOS, EOS, PAD, PAD]])
    logits = net(src, tgt)
    loss = nn.CrossEntropyLoss(ignore_index=PAD)(logits.reshape(-1, 6), nv.tensor(tgt[:, 1:].reshape(-1)))
    loss.backward()

    lengths = torch.tensor([4, 2, 1])
    emb = twin["src_emb"](torch.tensor(src))
    packed = tnn.utils.rnn.pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
    out, state = twin["rnn"](packed)
    enc, _ = tnn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=4)
    h_n = state[0] if cell == "lstm" else state
    final = torch.cat([h_n[-D + d] for d in range(D)], 1)
    h = torch.tanh(twin["bridge"](final))
    st = (h, torch.zeros_like(h)) if cell == "lstm" else h
    mask = torch.arange(4)[None] < lengths[:, None]
    outs = []
    for t in range(1, 4):
        hq = st[0] if cell == "lstm" else st
        scores = twin["v"](torch.tanh(twin["q"](hq)[:, None] + twin["k"](enc))).squeeze(-1)
        w = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
        ctx = (w[:, :, None] * enc).sum(1)
        e = twin["tgt_emb"](torch.tensor(tgt[:, t - 1]))
        st = twin["cell"](torch.cat([e, ctx], 1), st)
        hs = st[0] if cell == "lstm" else st
        outs.append(twin["out"](torch.cat([hs, ctx, e], 1)))
    t_logits = torch.stack(outs, 1)
    t_loss = tnn.functional.cross_entropy(t_logits.reshape(-1, 6), torch.tensor(tgt[:, 1:].reshape(-1)),
                                          ignore_index=PAD)
    t_loss.backward()
    np.testing.assert_allclose(logits.numpy(), t_logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-12)
    for k in ours:
        np.testing.assert_allclose(ours[k].grad.numpy(), theirs[k].grad.numpy(), rtol=1e-8, atol=1e-11, err_msg=k)


def test_gan_evaluate_recomputes_the_losses_without_touching_the_weights():
    gan = models.dcgan(latent_dim=4, channels=2)
    gan.double()
    trainer = GANTrainer(gan, optim.SGD(gan.generator.parameters(), lr=0.1),
                         optim.SGD(gan.discriminator.parameters(), lr=0.1))
    x = np.random.default_rng(0).uniform(-1, 1, size=(6, 1, 28, 28))
    before = {k: np.array(v.numpy()) for k, v in gan.state_dict().items()}
    gan.train()
    got = trainer.evaluate(data.DataLoader(data.TensorDataset(x), batch_size=4), seed=3)
    assert gan.training and gan.generator.training           # the mode comes back
    for k, v in gan.state_dict().items():                    # BatchNorm statistics included
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)
    gan.eval()
    rng = np.random.default_rng(3)
    sums = np.zeros(4)
    with nv.no_grad():
        for xb in (x[:4], x[4:]):
            real = gan.discriminator(nv.tensor(xb))
            fake = gan.discriminator(gan.generator(gan.noise(len(xb), rng)))
            p_real = 1 / (1 + np.exp(-real.numpy()))
            p_fake = 1 / (1 + np.exp(-fake.numpy()))
            sums += len(xb) * np.array([np.mean(-np.log(p_real)) + np.mean(-np.log1p(-p_fake)),
                                        np.mean(-np.log(p_fake)), p_real.mean(), p_fake.mean()])
    np.testing.assert_allclose([got["loss_d"], got["loss_g"], got["d_real"], got["d_fake"]], sums / 6, rtol=1e-10)


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name, kw, shape", [
    ("autoencoder", {"in_shape": (1, 4, 4), "latent_dim": 3, "hidden": (5,)}, (2, 1, 4, 4)),
    ("conv-autoencoder", {"latent_dim": 3, "channels": (2, 3), "image_size": 8}, (2, 1, 8, 8)),
    ("dcgan", {"latent_dim": 4, "channels": 2}, (3, 4)),
    ("dcgan", {"latent_dim": 4, "channels": 2, "spectral_norm": True}, (3, 4)),
    ("mlp-gan", {"hidden": 6, "depth": 2}, (3, 2)),
    ("siamese-net", {"in_features": 4, "hidden": 5, "embedding_dim": 3}, (2, 1, 2, 2)),
])
def test_state_dict_round_trip_and_eval_determinism(name, kw, shape):
    """A fresh model with other weights, given the state_dict, computes the same outputs in
    eval mode (BatchNorm statistics and spectral-norm vectors included), and eval repeats."""
    nv.manual_seed(0)
    net = models.get_model(name, **kw)
    x = nv.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))

    def run(m):
        if name == "siamese-net":
            return m.embed(x).numpy()
        if "gan" in name:
            return np.concatenate([m.generator(x).numpy().reshape(shape[0], -1),
                                   m.discriminator(m.generator(x)).numpy()], 1)
        return m(x).numpy()

    run(net)                                    # train mode: moves BN statistics / power iteration
    net.eval()
    a = run(net)
    np.testing.assert_array_equal(a, run(net))
    nv.manual_seed(1)
    other = models.get_model(name, **kw)
    other.load_state_dict(net.state_dict())
    other.eval()
    np.testing.assert_array_equal(run(other), a)


@pytest.mark.torch
def test_capsnet_margin_loss_step_matches_a_torch_twin():
    """Conv → ReLU → PrimaryCaps (channels cut into capsules type by type, squashed) →
    DigitCaps with 3 routing iterations → lengths → margin loss: value and every gradient."""
    torch = pytest.importorskip("torch")
    nv.manual_seed(0)
    net = models.CapsNet(image_size=6, conv_channels=4, primary_types=2, primary_dim=4, num_classes=3,
                         class_dim=4).double()
    x = np.random.default_rng(0).random((3, 1, 6, 6))
    y = np.array([0, 2, 1])
    loss = nn.margin_loss(net(nv.tensor(x)), nv.tensor(y))
    loss.backward()
    p = {k: torch.tensor(v.numpy(), requires_grad=True) for k, v in net.named_parameters()}
    h = torch.relu(torch.nn.functional.conv2d(torch.tensor(x), p["conv1.weight"], p["conv1.bias"]))
    h = torch.nn.functional.conv2d(h, p["primary.conv.weight"], p["primary.conv.bias"])   # (3, 8, 2, 2)
    u = _torch_squash(torch, h.reshape(3, 2, 4, 2, 2).permute(0, 1, 3, 4, 2).reshape(3, 8, 4))
    u_hat = torch.einsum("ijdk,nik->nijd", p["digits.weight"], u)
    b = torch.zeros(3, 8, 3, dtype=torch.float64)
    for r in range(3):
        v = _torch_squash(torch, torch.einsum("nij,nijd->njd", torch.softmax(b, 2), u_hat))
        b = b + torch.einsum("nijd,njd->nij", u_hat, v)
    lengths = ((v * v).sum(-1) + 1e-12).sqrt()
    T = torch.nn.functional.one_hot(torch.tensor(y), 3).double()
    ref = (T * torch.relu(0.9 - lengths) ** 2 + 0.5 * (1 - T) * torch.relu(lengths - 0.1) ** 2).sum(1).mean()
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    for k, prm in net.named_parameters():
        np.testing.assert_allclose(prm.grad.numpy(), p[k].grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=k)


@pytest.mark.torch
def test_vae_bernoulli_likelihood_works_on_logits_so_saturated_outputs_stay_finite():
    """The decoder outputs logits and the likelihood is scored on them (BCE-with-logits), not on
    sigmoid probabilities, so a saturated decoder gives large finite losses and gradients."""
    torch = pytest.importorskip("torch")
    vae = _vae("bernoulli")
    logits = np.array([[1000.0, -1000.0, 0.0, 50.0, -50.0, 3.0]])
    x = np.array([[0.0, 1.0, 0.5, 1.0, 0.0, 0.2]])
    lt = nv.tensor(logits, requires_grad=True)
    from nerve.distributions import Bernoulli
    lp = Bernoulli(logits=lt, validate_args=False).log_prob(nv.tensor(x)).sum()
    lp.backward()
    tl = torch.tensor(logits, requires_grad=True)
    ref = -torch.nn.functional.binary_cross_entropy_with_logits(tl, torch.tensor(x), reduction="sum")
    ref.backward()
    np.testing.assert_allclose(lp.item(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(lt.grad.numpy(), tl.grad.numpy(), rtol=1e-12, atol=1e-20)  # torch rounds σ(50) − 1 to 0
    assert vae.likelihood == "bernoulli" and np.isfinite(lp.item())


def test_teacher_forcing_ratio_one_draws_nothing_and_zero_ignores_the_generator():
    nv.manual_seed(0)
    net = models.seq2seq(src_vocab=9, tgt_vocab=6, embed_dim=4, hidden_size=5)
    src = np.array([[3, 4, 5], [6, 7, 0]])
    tgt = np.array([[BOS, 3, 4, 5], [BOS, 5, EOS, EOS]])
    gen = np.random.default_rng(4)
    state = gen.bit_generator.state
    net(src, tgt, teacher_forcing_ratio=1.0, generator=gen)
    assert gen.bit_generator.state == state                      # pure teacher forcing: no coins
    a = net(src, tgt, teacher_forcing_ratio=0.0, generator=np.random.default_rng(1)).numpy()
    b = net(src, tgt, teacher_forcing_ratio=0.0, generator=np.random.default_rng(2)).numpy()
    np.testing.assert_array_equal(a, b)                          # never forced, whatever the coins


def test_learnable_edge_weights_keep_the_layer_dtype():
    """A float64 weight Tensor on a float32 layer gives float32 output, as the NumPy path does."""
    conv = nn.GCNConv(2, 2)
    w = nv.tensor(np.array([1.0, 2.0]), requires_grad=True)
    out = conv(nv.ones(2, 2), np.array([[0, 1], [1, 0]]), w)
    assert out.dtype == conv(nv.ones(2, 2), np.array([[0, 1], [1, 0]]), np.array([1.0, 2.0])).dtype == np.float32
    out.sum().backward()
    assert w.grad is not None and np.isfinite(w.grad.numpy()).all()
