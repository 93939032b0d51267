"""The BLAS planner: when a matrix product is cut into row blocks, and that the cut products
(in the LSTM's fast path) give what the whole products give."""
import numpy as np
import pytest

import nerve as nv
from nerve.backend import blas
from nerve.functional import recurrent


@pytest.fixture
def small_kernels(monkeypatch):
    """Plan as on a one-thread OpenBLAS with small-matrix kernels, whatever this machine is."""
    monkeypatch.setattr(blas, "_small_kernels", lambda: True)
    monkeypatch.setattr(blas, "blas_threads_now", lambda: 1)
    monkeypatch.setattr(blas, "_plans", {})


@pytest.mark.parametrize("M, N, K, rows", [
    (512, 32, 192, [128] * 4),          # W5's LSTM step: 3.1 M multiply-adds, four blocks
    (128, 32, 512, [43, 43, 42]),       # its backward step: the blocks are balanced
    (2048, 2, 512, [683, 683, 682]),
    (300, 7, 1000, [100, 100, 100]),
])
def test_blocks_cover_the_rows_in_order_each_under_the_limit(small_kernels, M, N, K, rows):
    blocks = blas.row_blocks(M, N, K, np.float32)
    assert [b.stop - b.start for b in blocks] == rows
    assert blocks[0].start == 0 and blocks[-1].stop == M
    assert all(a.stop == b.start for a, b in zip(blocks, blocks[1:]))
    assert all((b.stop - b.start) * N * K <= blas.SMALL_KERNEL_MNK for b in blocks)


@pytest.mark.parametrize("M, N, K, dtype, why", [
    (100, 100, 100, np.float32, "already small enough for the small kernels"),
    (4096, 1, 512, np.float32, "N = 1 is a matrix-vector product"),
    (512, 64, 1024, np.float32, "a block under the limit would have fewer than 16 rows"),
    (512, 32, 192, np.int64, "integer products do not go through GEMM"),
    (512, 32, 192, np.float16, "no half-precision GEMM"),
])
def test_no_blocks_where_they_would_not_pay(small_kernels, M, N, K, dtype, why):
    assert blas.row_blocks(M, N, K, dtype) is None, why


def test_no_blocks_with_several_blas_threads_or_without_small_kernels(monkeypatch, small_kernels):
    assert blas.row_blocks(512, 32, 192, np.float64) is not None
    monkeypatch.setattr(blas, "blas_threads_now", lambda: 2)   # the whole product is threaded
    assert blas.row_blocks(512, 32, 192, np.float64) is None
    monkeypatch.setattr(blas, "blas_threads_now", lambda: 1)
    monkeypatch.setattr(blas, "_small_kernels", lambda: False)  # e.g. a Haswell core, or MKL
    assert blas.row_blocks(512, 32, 192, np.float64) is None


@pytest.mark.parametrize("core, expected", [("SkylakeX", True), ("SapphireRapids", True),
                                            ("Haswell", False), ("Zen", False), (None, False)])
def test_small_kernels_follow_the_openblas_core(monkeypatch, core, expected):
    monkeypatch.setattr(blas, "_info", {"library": "x" if core else None, "core": core})
    assert blas._small_kernels() is expected


def test_blas_info_describes_numpys_blas():
    info = blas.blas_info()
    assert set(info) == {"library", "core"}
    if "openblas" not in blas._numpy_blas_name():
        pytest.skip("NumPy here is not built on OpenBLAS")
    assert info["library"] and info["core"], info
    n = blas.blas_threads_now()
    assert isinstance(n, int) and n >= 1
    from nerve.backend import limit_blas_threads
    with limit_blas_threads(1):
        pytest.importorskip("threadpoolctl")
        assert blas.blas_threads_now() == 1        # read live, not cached


def test_blocked_products_equal_the_whole_product(small_kernels):
    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        W = rng.standard_normal((512, 192)).astype(dt)
        X = rng.standard_normal((192, 32)).astype(dt)
        out = np.empty((512, 32), dt)
        blocks = blas.row_blocks(512, 32, 192, dt)
        for b in blocks:
            np.matmul(W[b], X, out=out[b])
        np.testing.assert_allclose(out, W @ X, rtol=1e-5 if dt == np.float32 else 1e-12,
                                   atol=1e-5 if dt == np.float32 else 1e-12)


def _lstm_step(seed, dtype, T=6, N=5, D=7, H=9, h0_zero=True, reverse=False):
    rng = np.random.default_rng(seed)
    arr = lambda *s: rng.standard_normal(s).astype(dtype) * 0.5  # noqa: E731
    x = nv.tensor(arr(T, N, D), requires_grad=True)
    h0 = nv.tensor(np.zeros((N, H), dtype) if h0_zero else arr(N, H), requires_grad=True)
    c0 = nv.tensor(arr(N, H), requires_grad=True)
    ws = [nv.tensor(arr(4 * H, D), requires_grad=True), nv.tensor(arr(4 * H, H), requires_grad=True),
          nv.tensor(arr(4 * H), requires_grad=True), nv.tensor(arr(4 * H), requires_grad=True)]
    out, h, c = nv.functional.lstm_layer(x, h0, c0, *ws, reverse=reverse)
    gout = arr(T, N, H)
    (out * nv.tensor(gout)).sum().add(h.sum() * 0.3).add((c * c).sum()).backward()
    leaves = [x, h0, c0] + ws
    return [out.numpy(), h.numpy(), c.numpy()] + [t.grad.numpy() for t in leaves]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("h0_zero, reverse", [(True, False), (False, True)])
def test_lstm_fast_path_cut_into_uneven_blocks_matches_the_whole_products(monkeypatch, dtype,
                                                                          h0_zero, reverse):
    whole = _lstm_step(1, dtype, h0_zero=h0_zero, reverse=reverse)
    asked = []

    def three_blocks(M, N, K, dt):                  # uneven blocks on every call, any size
        asked.append((M, N, K))
        return (slice(0, 5), slice(5, M - 3), slice(M - 3, M))

    monkeypatch.setattr(recurrent, "row_blocks", three_blocks)
    cut = _lstm_step(1, dtype, h0_zero=h0_zero, reverse=reverse)
    H, D, N = 9, 7, 5
    assert asked == [(4 * H, N, D + H), (H, N, 4 * H)]  # the forward step and the backward step
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(cut, whole):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _readable_layers(seed, dtype, T=5, N=4, D=3, H=6, P=4):
    """Every layer whose steps go through recurrent._times: GRU, tanh and ReLU RNNs, and the
    LSTM's readable path (taken for packed batches and for a projection)."""
    rng = np.random.default_rng(seed)
    arr = lambda *s: nv.tensor(rng.standard_normal(s).astype(dtype) * 0.5, requires_grad=True)  # noqa: E731
    F = nv.functional
    x, lengths = arr(T, N, D), [5, 4, 2, 1]
    runs = {
        "gru": lambda: F.gru_layer(x, arr(N, H), arr(3 * H, D), arr(3 * H, H), arr(3 * H), arr(3 * H)),
        "gru_packed": lambda: F.gru_layer(x, arr(N, H), arr(3 * H, D), arr(3 * H, H), arr(3 * H),
                                          arr(3 * H), batch_sizes=[4, 4, 3, 2, 1]),
        "rnn_tanh": lambda: F.rnn_layer(x, arr(N, H), arr(H, D), arr(H, H), arr(H), arr(H)),
        "rnn_relu": lambda: F.rnn_layer(x, arr(N, H), arr(H, D), arr(H, H), arr(H), arr(H),
                                        nonlinearity="relu", reverse=True),
        "lstm_proj": lambda: F.lstm_layer(x, arr(N, P), arr(N, H), arr(4 * H, D), arr(4 * H, P),
                                          arr(4 * H), arr(4 * H), weight_hr=arr(P, H)),
        "lstm_packed": lambda: F.lstm_layer(x, arr(N, H), arr(N, H), arr(4 * H, D), arr(4 * H, H),
                                            arr(4 * H), arr(4 * H), batch_sizes=[4, 4, 3, 2, 1]),
    }
    assert len(lengths) == N
    results = {}
    for name, run in runs.items():
        outs = run()
        loss = sum(((o * o).sum() for o in outs), nv.tensor(0.0, dtype=dtype))
        leaves = [x] + [t for t in _leaves(loss) if t is not x]
        for t in leaves:
            t.grad = None
        loss.backward()
        results[name] = [o.numpy() for o in outs] + [t.grad.numpy() for t in leaves]
    return results


def _leaves(t):
    seen, stack, out = set(), [t.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        for nxt, _ in node.next_functions:
            if nxt is not None and type(nxt).__name__ == "AccumulateGrad":
                out.append(nxt.variable)
            else:
                stack.append(nxt)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recurrent_steps_cut_into_uneven_column_blocks_match_the_whole_products(monkeypatch, dtype):
    whole = _readable_layers(2, dtype)
    asked = []

    def three_blocks(M, N, K, dt):
        asked.append((M, N, K))
        return (slice(0, 1), slice(1, N - 2), slice(N - 2, N))

    monkeypatch.setattr(recurrent, "col_blocks", three_blocks)
    cut = _readable_layers(2, dtype)
    # forward h @ Wₕₕᵀ and backward ∂ @ Wₕₕ, for each of the six layers (N = 4 rows each)
    assert sorted(set(asked)) == sorted({(4, 18, 6), (4, 6, 18), (4, 6, 6), (4, 24, 4), (4, 4, 24),
                                         (4, 24, 6), (4, 6, 24)})
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for name in whole:
        assert len(cut[name]) == len(whole[name])
        for a, b in zip(cut[name], whole[name]):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("M, O, K, expected", [
    (8, 384, 128, ("cols", [128, 128, 128])),       # a small batch through a wide layer
    (2, 3072, 768, ("cols", [512] * 6)),
    (16, 1024, 128, ("cols", [74] * 13 + [62])),
    (10000, 16, 784, ("rows", [79] * 126 + [46])),  # a 784→16 layer over a batch of 10,000
    (2048, 10, 128, ("rows", [683, 683, 682])),
])
def test_linear_plan_blocks_each_fit_the_small_kernels(small_kernels, M, O, K, expected):
    kind, blocks = blas.linear_plan(M, O, K, np.float32)
    assert (kind, [b.stop - b.start for b in blocks]) == expected
    n = O if kind == "cols" else M
    assert blocks[0].start == 0 and blocks[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(blocks, blocks[1:]))
    for b in blocks:
        rows, cols = (M, b.stop - b.start) if kind == "cols" else (b.stop - b.start, O)
        assert rows * cols * K <= blas.SMALL_KERNEL_MNK
        if kind == "cols":                            # x @ W[b].T: OpenBLAS's transposed case
            assert rows * cols <= blas.TN_SMALL_MN


@pytest.mark.parametrize("M, O, K, why", [
    (1, 4096, 128, "one row: a matrix-vector product, no faster in pieces"),
    (8, 128, 512, "8 × 128 outputs already fit the small kernel whole"),
    (16, 128, 64, "16 rows with K = 64 measured no faster"),
    (64, 16, 784, "W2's first layer already fits whole"),
    (1024, 384, 128, "many rows and many outputs: the packed kernel is at its best"),
    (2048, 64, 32, "K = 32 measured no faster"),
    (512, 10, 128, "a single block: copying Wᵀ buys nothing sure"),
])
def test_linear_plan_leaves_other_shapes_whole(small_kernels, M, O, K, why):
    assert blas.linear_plan(M, O, K, np.float32) is None, why


def test_linear_plan_needs_one_thread_and_small_kernels(monkeypatch, small_kernels):
    assert blas.linear_plan(8, 384, 128, np.float32) is not None
    monkeypatch.setattr(blas, "blas_threads_now", lambda: 2)
    assert blas.linear_plan(8, 384, 128, np.float32) is None


@pytest.mark.parametrize("kind", ["cols", "rows"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_in_planned_pieces_matches_the_whole_product_and_torch(monkeypatch, kind, dtype):
    torch = pytest.importorskip("torch")
    from nerve.functional import linalg

    rng = np.random.default_rng(3)
    x_np = rng.standard_normal((3, 5, 40)).astype(dtype)        # 15 rows once flattened (cols)
    W_np, b_np = rng.standard_normal((11, 40)).astype(dtype), rng.standard_normal(11).astype(dtype)
    cuts = {"cols": (slice(0, 4), slice(4, 9), slice(9, 11)),
            "rows": (slice(0, 4), slice(4, 5), slice(5, 9))}        # 9 rows: x[:, ::2]
    planned = []

    def plan(M, O, K, dt):
        planned.append((M, O, K))
        return kind, cuts[kind]

    monkeypatch.setattr(linalg, "TN_SMALL_MN", 0)              # let every shape reach the planner
    monkeypatch.setattr(linalg, "linear_plan", plan)
    x = nv.tensor(x_np, requires_grad=True)
    W, b = nv.tensor(W_np, requires_grad=True), nv.tensor(b_np, requires_grad=True)
    xs = x[:, ::2] if kind == "rows" else x                     # a non-contiguous input too
    y = nv.functional.linear(xs, W, b)
    g = rng.standard_normal(y.shape).astype(dtype)
    (y * nv.tensor(g)).sum().backward()
    assert planned and planned[0][1:] == (11, 40)

    xt = torch.tensor(x_np, requires_grad=True)
    Wt, bt = torch.tensor(W_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    yt = torch.nn.functional.linear(xt[:, ::2] if kind == "rows" else xt, Wt, bt)
    (yt * torch.tensor(g)).sum().backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, e in [(y, yt), (x.grad, xt.grad), (W.grad, Wt.grad), (b.grad, bt.grad)]:
        np.testing.assert_allclose(a.numpy(), e.detach().numpy(), rtol=tol, atol=tol)


def test_linear_plans_only_two_dimensional_inputs(small_kernels):
    # a single (784,) sample once looked like 784 rows of a tall product
    rng = np.random.default_rng(4)
    W, x = rng.standard_normal((16, 784)), rng.standard_normal(784)
    assert blas.linear_plan(784, 16, 784, np.float64) is not None   # as 784 rows it would be cut
    y = nv.functional.linear(nv.tensor(x), nv.tensor(W)).numpy()
    np.testing.assert_allclose(y, W @ x, rtol=1e-12, atol=1e-12)
    X = rng.standard_normal((4000, 784))                           # a real tall batch is cut
    np.testing.assert_allclose(nv.functional.linear(nv.tensor(X), nv.tensor(W)).numpy(), X @ W.T,
                               rtol=1e-10, atol=1e-10)
