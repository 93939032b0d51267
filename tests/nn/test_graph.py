"""Graph layers (glossary row 28): scatter aggregation, GCNConv against the dense formula,
permutation equivariance, SAGEConv's mean aggregation, and the Graph container."""
import sys

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
from nerve import nn
from nerve.data import Graph


def _random_graph(rng, n=9, p=0.35):
    a = np.triu(rng.random((n, n)) < p, 1)
    src, dst = np.nonzero(a | a.T)
    return np.stack([src, dst]).astype(np.int64)


def dense_gcn(x, edge_index, W, b):
    """D^-1/2 (A + I) D^-1/2 X W + b with A[target, source] = 1."""
    n = x.shape[0]
    A = np.zeros((n, n))
    A[edge_index[1], edge_index[0]] = 1.0
    A_hat = A + np.eye(n)
    d = A_hat.sum(1)
    return (A_hat / np.sqrt(np.outer(d, d))) @ x @ W + b


def test_gcnconv_equals_the_dense_formula():
    rng = np.random.default_rng(0)
    e = _random_graph(rng)
    x = rng.standard_normal((9, 5))
    conv = nn.GCNConv(5, 3).double()
    nn.init.normal_(conv.bias)
    out = conv(nv.tensor(x), e).numpy()
    ref = dense_gcn(x, e, conv.lin.weight.numpy().T, conv.bias.numpy())
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-10)


def test_gcnconv_permutation_equivariance():
    rng = np.random.default_rng(1)
    g = Graph(rng.standard_normal((9, 4)), _random_graph(rng))
    conv = nn.GCNConv(4, 6).double()
    nn.init.normal_(conv.bias)
    perm = rng.permutation(9)
    gp = g.permute(perm)
    out = conv(g.x.double(), g.edge_index).numpy()
    out_p = conv(gp.x.double(), gp.edge_index).numpy()
    np.testing.assert_allclose(out_p, out[perm], atol=1e-12)


def test_gcnconv_gradients_pass_gradcheck():
    rng = np.random.default_rng(2)
    e = _random_graph(rng, 6)
    conv = nn.GCNConv(3, 2).double()
    x = nv.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    w = nv.tensor(rng.uniform(0.5, 2.0, e.shape[1]))
    assert nv.autograd.gradcheck(lambda t: conv(t, e, w), [x])


def test_existing_self_loops_are_replaced_by_one_of_weight_one():
    e = np.array([[0, 1, 1, 2], [1, 0, 1, 1]])          # node 1 has a loop already
    loops, w = nn.add_self_loops(e, 3, np.array([1.0, 1.0, 5.0, 1.0]))
    assert sorted(map(tuple, loops.T.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1), (2, 2)]
    assert w.tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("aggr", ["sum", "mean", "max", "min"])
def test_message_passing_aggregates_neighbours(aggr):
    rng = np.random.default_rng(3)
    e = _random_graph(rng, 7, 0.5)
    x = rng.standard_normal((7, 3))
    out = nn.MessagePassing(aggr).propagate(e, x=nv.tensor(x)).numpy()
    fn = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[aggr]
    for i in range(7):                          # the reference: one node at a time
        nb = e[0][e[1] == i]
        want = fn(x[nb], 0) if nb.size else np.zeros(3)
        np.testing.assert_allclose(out[i], want, atol=1e-12)


def test_sageconv_is_self_term_plus_mean_of_neighbours():
    rng = np.random.default_rng(4)
    e = _random_graph(rng, 8, 0.4)
    x = rng.standard_normal((8, 3))
    conv = nn.SAGEConv(3, 4).double()
    out = conv(nv.tensor(x), e).numpy()
    A = np.zeros((8, 8))
    A[e[1], e[0]] = 1
    mean = A @ x / np.maximum(A.sum(1, keepdims=True), 1)
    Wn, bn, Ws = (conv.lin_neigh.weight.numpy(), conv.lin_neigh.bias.numpy(), conv.lin_self.weight.numpy())
    np.testing.assert_allclose(out, mean @ Wn.T + bn + x @ Ws.T, atol=1e-12)
    unit = nn.SAGEConv(3, 4, normalize=True).double()(nv.tensor(x), e).numpy()
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-12)


def test_scatter_aggregate_errors_and_aggregation_is_vectorised():
    with pytest.raises(IndexError, match="num_segments=3"):
        F.scatter_aggregate(nv.ones(2, 1), [0, 3], 3)
    with pytest.raises(ValueError, match="2 entries but src has 3 rows"):
        F.scatter_aggregate(nv.ones(3, 1), [0, 1], 3)
    with pytest.raises(ValueError, match="reduce"):
        F.scatter_aggregate(nv.ones(3, 1), [0, 1, 2], 3, reduce="prod")
    with pytest.raises(ValueError, match="names node 5"):
        nn.GCNConv(2, 2)(nv.ones(3, 2), [[0, 5], [1, 0]])
    # whole-array: the number of Python-level calls does not grow with the graph
    calls = []

    def count(frame, event, arg):
        if event == "call" and "nerve" in frame.f_code.co_filename:
            calls.append(1)
    rng = np.random.default_rng(0)
    sizes = []
    for n in (20, 400):
        e = _random_graph(rng, n, 0.2)
        x = nv.tensor(rng.standard_normal((n, 4)))
        calls.clear()
        sys.setprofile(count)
        try:
            F.scatter_aggregate(x[e[0]], e[1], n, "max")
        finally:
            sys.setprofile(None)
        sizes.append(len(calls))
    assert sizes[0] == sizes[1]


def test_graph_container_checks_and_adjacency():
    g = Graph(np.eye(3), [[0, 1, 1, 2], [1, 0, 2, 1]], y=[0, 0, 1], train_mask=[1, 0, 0])
    assert g.num_nodes == 3 and g.num_edges == 4 and g.is_undirected()
    assert g.degree().tolist() == [1, 2, 1] and g.train_mask.dtype == bool
    assert not Graph(np.eye(2), [[0], [1]]).is_undirected()
    with pytest.raises(ValueError, match="names node 3"):
        Graph(np.eye(3), [[0, 3], [1, 0]])
    with pytest.raises(ValueError, match="y must have 3 entries"):
        Graph(np.eye(3), [[0], [1]], y=[0, 1])
    with pytest.raises(ValueError, match=r"shape \(2, E\)"):
        Graph(np.eye(3), [[0, 1, 2]])


def test_scatter_max_ties_send_the_gradient_to_the_first_row_only():
    src = nv.tensor([[3.0, 1.0], [3.0, 2.0], [0.0, 2.0]], requires_grad=True)
    out = F.scatter_aggregate(src, [0, 0, 0], 2, "max")
    assert out.tolist() == [[3.0, 2.0], [0.0, 0.0]]       # bucket 1 is empty: 0
    out.sum().backward()
    assert src.grad.tolist() == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gcnconv_matches_a_torch_transcription(dtype):
    """torch_geometric is not a dependency; its GCNConv is re-written here in plain torch
    (self-loops, symmetric normalisation, index_add_) with the same weights, and outputs and
    gradients are compared."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    e = _random_graph(rng, 10, 0.3)
    x = rng.standard_normal((10, 4)).astype(dtype)
    conv = nn.GCNConv(4, 3)
    if dtype == np.float64:
        conv = conv.double()
    nn.init.normal_(conv.bias)
    xt = nv.tensor(x, requires_grad=True)
    out = conv(xt, e)
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(nv.tensor(g))

    X = torch.tensor(x, requires_grad=True)
    W = torch.tensor(conv.lin.weight.numpy(), requires_grad=True)
    b = torch.tensor(conv.bias.numpy(), requires_grad=True)
    loops = torch.arange(10)
    src = torch.cat([torch.tensor(e[0]), loops])
    dst = torch.cat([torch.tensor(e[1]), loops])
    deg = torch.zeros(10, dtype=X.dtype).index_add_(0, dst, torch.ones(len(dst), dtype=X.dtype))
    norm = deg[src].rsqrt() * deg[dst].rsqrt()
    h = X @ W.T
    ref = torch.zeros(10, 3, dtype=X.dtype).index_add_(0, dst, h[src] * norm[:, None]) + b
    ref.backward(torch.tensor(g))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **tol)
    np.testing.assert_allclose(xt.grad.numpy(), X.grad.numpy(), **tol)
    np.testing.assert_allclose(conv.lin.weight.grad.numpy(), W.grad.numpy(), **tol)
    np.testing.assert_allclose(conv.bias.grad.numpy(), b.grad.numpy(), **tol)
