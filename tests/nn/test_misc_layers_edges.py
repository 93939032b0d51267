"""Edge cases of the smaller nn layers and nn.utils, against PyTorch where it has the same
thing: EmbeddingBag (frequency scaling, offsets, max ties, per-sample weights, from_pretrained),
Embedding's argument order, Unflatten/Flatten dims, Sequential.insert, the dict containers'
del, ParameterList indices, spectral_norm's iteration count, vector_to_parameters and grad_norm."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq_counts_only_real_ids(mode):
    # Bags of unequal length: the short bag's filler slots must not count as extra uses of an
    # id. The oracle is torch's Embedding (whose frequency scaling is per call) followed by the
    # bag reduction done by hand; torch's own EmbeddingBag backward miscounts here.
    ids, offsets = np.array([1, 2, 3, 4, 1, 5]), np.array([0, 4, 5])
    W = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    bag = nn.EmbeddingBag.from_pretrained(nv.tensor(W), freeze=False, mode=mode, scale_grad_by_freq=True)
    out = bag(nv.tensor(ids), nv.tensor(offsets))
    g = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    (out * nv.tensor(g)).sum().backward()

    emb = torch.nn.Embedding.from_pretrained(torch.tensor(W), freeze=False, scale_grad_by_freq=True)
    rows = emb(torch.tensor(ids))
    which = torch.tensor([0, 0, 0, 0, 1, 2])
    ref = torch.zeros(3, 3).index_add(0, which, rows)
    if mode == "mean":
        ref = ref / torch.bincount(which)[:, None]
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(bag.weight.grad.numpy(), emb.weight.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("include_last_offset", [False, True])
def test_embedding_bag_offset_past_the_end_is_a_clear_error(include_last_offset):
    bag = nn.EmbeddingBag(6, 4, include_last_offset=include_last_offset)
    with pytest.raises(ValueError, match="offsets must .* stay within the 2 ids"):
        bag(nv.tensor([1, 2]), nv.tensor([0, 3]))


def test_vector_to_parameters_never_feeds_new_values_to_a_pending_backward():
    # Writing new values into a parameter that a graph saved must not silently change that
    # graph's gradient (torch keeps the old values; nerve copies in place, so it must refuse).
    lin = nn.Linear(2, 1, bias=False)
    x = nv.tensor([[3.0, 4.0]], requires_grad=True)
    y = lin(x).sum()
    nn.utils.vector_to_parameters(nv.tensor([10.0, 20.0]), lin.parameters())
    np.testing.assert_array_equal(lin.weight.numpy(), [[10.0, 20.0]])
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


@pytest.mark.parametrize("n", [0, -1, 1.5])
def test_spectral_norm_refuses_a_non_positive_iteration_count(n):
    # with no power iteration σ̂ stays the random starting estimate (torch refuses too)
    with pytest.raises(ValueError, match="n_power_iterations must be a positive int"):
        nn.utils.spectral_norm(nn.Linear(3, 2), n_power_iterations=n)


def test_embedding_bag_from_pretrained_takes_torchs_positional_order():
    # torch's EmbeddingBag.from_pretrained has max_norm third (Embedding's has padding_idx)
    W = np.arange(12.0, dtype=np.float32).reshape(4, 3)
    ours = nn.EmbeddingBag.from_pretrained(nv.tensor(W), True, 1.0, 2.0, False, "sum")
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(W), True, 1.0, 2.0, False, "sum")
    assert (ours.max_norm, ours.padding_idx, ours.mode) == (theirs.max_norm, theirs.padding_idx, theirs.mode)
    ids, offsets = [1, 2, 3], [0, 1]
    np.testing.assert_allclose(ours(nv.tensor(ids), nv.tensor(offsets)).numpy(),
                               theirs(torch.tensor(ids), torch.tensor(offsets)).numpy(), rtol=1e-6)


def test_embedding_from_pretrained_takes_torchs_positional_order():
    W = np.arange(12.0, dtype=np.float32).reshape(4, 3)
    ours = nn.Embedding.from_pretrained(nv.tensor(W), False, 0, 5.0, 1.0, True)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(W), False, 0, 5.0, 1.0, True)
    for attr in ("padding_idx", "max_norm", "norm_type", "scale_grad_by_freq"):
        assert getattr(ours, attr) == getattr(theirs, attr)
    np.testing.assert_allclose(ours(nv.tensor([1, 3])).numpy(),
                               theirs(torch.tensor([1, 3])).detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("layer", [nn.Embedding, nn.EmbeddingBag])
def test_a_float_padding_idx_is_a_clear_error(layer):
    with pytest.raises(TypeError, match="padding_idx must be an int"):
        layer.from_pretrained(nv.ones(4, 3), padding_idx=1.0)
    with pytest.raises(TypeError, match="padding_idx must be an int"):
        layer(4, 3, padding_idx=1.0)


@pytest.mark.parametrize("dim", [3, 5, -4])
def test_unflatten_refuses_a_dim_out_of_range_instead_of_wrapping(dim):
    # dim 5 of a 3-D input used to wrap to dim 2 and split the wrong dimension (torch refuses)
    x = np.zeros((2, 3, 4), dtype=np.float32)
    with pytest.raises(IndexError):
        torch.nn.Unflatten(dim, (2, 2))(torch.tensor(x))
    with pytest.raises(IndexError, match=f"dim {dim} is out of range for an input of shape"):
        nn.Unflatten(dim, (2, 2))(nv.tensor(x))


@pytest.mark.parametrize("sizes", [(-1, -1), (-2, -2), (2, 1.5)])
def test_unflatten_refuses_sizes_it_cannot_infer(sizes):
    with pytest.raises(ValueError, match="at most one -1"):
        nn.Unflatten(1, sizes)


@pytest.mark.parametrize("dim,sizes", [(1, (3, 1)), (-1, (2, -1)), (0, (1, 2)), (-3, (-1, 1))])
def test_unflatten_matches_torch_in_range(dim, sizes):
    x = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(nn.Unflatten(dim, sizes)(nv.tensor(x)).numpy(),
                                  torch.nn.Unflatten(dim, sizes)(torch.tensor(x)).numpy())


def test_parameter_list_index_errors_name_the_index_and_length():
    plist = nn.ParameterList([nn.Parameter(nv.zeros(1)), nn.Parameter(nv.zeros(2))])
    assert plist[-1].shape == (2,)
    with pytest.raises(IndexError, match="index 2 is out of range for ParameterList of length 2"):
        plist[2]
    with pytest.raises(IndexError, match="index -3 is out of range for ParameterList of length 2"):
        plist[-3] = nv.zeros(1)


def test_embedding_bag_max_sends_a_tied_maximum_to_the_first_row_as_torch():
    # rows 1 and 2 tie in column 0; torch's argmax gives the whole gradient to the first of
    # them in the bag (an even split would be a silently different gradient)
    W = np.array([[1.0, 2.0], [3.0, 0.0], [3.0, 5.0], [0.0, 0.0]], dtype=np.float32)
    ids, offsets = [2, 1, 2, 0, 1, 2], [0, 2, 2, 4]   # bags: [2, 1], [], [2, 0], [1, 2]
    ours = nn.EmbeddingBag.from_pretrained(nv.tensor(W), freeze=False, mode="max")
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(W), freeze=False, mode="max")
    out, tout = ours(nv.tensor(ids), nv.tensor(offsets)), theirs(torch.tensor(ids), torch.tensor(offsets))
    g = np.arange(8.0, dtype=np.float32).reshape(4, 2) + 1
    (out * nv.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())


@pytest.mark.parametrize("ids,offsets,weights", [([1, 2, 3], [0, 1], [1.0, 2.0]),
                                                 ([[1, 2], [3, 4]], None, [1.0, 2.0, 3.0, 4.0])])
def test_embedding_bag_per_sample_weights_must_match_the_ids(ids, offsets, weights):
    # a flat (4,) weight vector for (2, 2) ids was silently reshaped; a short one hit a numpy IndexError
    bag = nn.EmbeddingBag(6, 2, mode="sum")
    with pytest.raises(ValueError, match="per_sample_weights must have the ids' shape"):
        bag(nv.tensor(ids), None if offsets is None else nv.tensor(offsets),
            per_sample_weights=nv.tensor(weights))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf"), -float("inf"), 0])
def test_grad_norm_is_the_norm_of_all_gradients_as_one_vector(p):
    # -inf used to give the largest |g| (the inf norm) and 0 a ZeroDivisionError
    params = [nn.Parameter(nv.zeros(3)), nn.Parameter(nv.zeros(2))]
    params[0].grad, params[1].grad = nv.tensor([1.0, -4.0, 0.0]), nv.tensor([0.5, 2.0])
    ref = torch.linalg.vector_norm(torch.tensor([1.0, -4.0, 0.0, 0.5, 2.0], dtype=torch.float64), p)
    assert nn.utils.grad_norm(params, p) == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.parametrize("index", [-1, 0, 2, -2])
def test_sequential_insert_returns_the_sequential_and_matches_torch(index):
    def names(seq):
        return [type(m).__name__ for m in seq]

    ours = nn.Sequential(nn.ReLU(), nn.Tanh()).insert(index, nn.ELU())
    theirs = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Tanh()).insert(index, torch.nn.ELU())
    assert names(ours) == names(theirs)
    assert [k for k, _ in ours.named_children()] == [k for k, _ in theirs.named_children()]


@pytest.mark.parametrize("index", [3, -3])
def test_sequential_insert_out_of_range_is_an_error_not_an_append(index):
    with pytest.raises(IndexError, match=f"index {index} is out of range"):
        nn.Sequential(nn.ReLU(), nn.Tanh()).insert(index, nn.ELU())


@pytest.mark.parametrize("start_dim", [4, 5])
def test_flatten_start_dim_past_the_input_is_an_error_not_the_identity(start_dim):
    x = np.zeros((2, 3, 4, 5), dtype=np.float32)
    with pytest.raises(IndexError):
        torch.nn.Flatten(start_dim)(torch.tensor(x))
    with pytest.raises(IndexError, match=f"dimension {start_dim} is out of range"):
        nn.Flatten(start_dim)(nv.tensor(x))


@pytest.mark.parametrize("make", [lambda: nn.ModuleDict({"a": nn.ReLU()}),
                                  lambda: nn.ParameterDict({"a": nn.Parameter(nv.zeros(1))})])
@pytest.mark.parametrize("key", ["training", "zz"])
def test_deleting_a_missing_key_from_a_dict_container_is_a_key_error(make, key):
    # `del pdict["training"]` used to delete the module's own training flag, silently
    box = make()
    with pytest.raises(KeyError, match=f"has no key '{key}'"):
        del box[key]
    assert box.training is True and list(box.keys()) == ["a"]
    box.eval()
    del box["a"]
    assert len(box) == 0 and box.training is False
