"""Feature extraction through forward hooks, linear probes per layer, receptive fields
(spec rows 91, A46, A38)."""
import os

import numpy as np
import pytest

import nerve as nv
from nerve import data, nn, optim, tune
from nerve.models import extract_features, feature_extractor
from nerve.nn.utils import receptive_field, receptive_field_probe
from nerve.train import Trainer


def _plot_dirs(tmp_path):
    """Where a test draws: its tmp folder, and $NERVE_TUNE_PLOTS too when set (to look at them)."""
    extra = os.environ.get("NERVE_TUNE_PLOTS")
    return [tmp_path] + ([extra] if extra else [])


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def test_extracted_features_equal_the_hook_outputs():
    model = _cnn()
    x = nv.randn(5, 1, 8, 8)
    seen = {}
    handles = [model.get_submodule(n).register_forward_hook(
        lambda m, a, out, n=n: seen.__setitem__(n, out.numpy().copy())) for n in ("1", "4", "8")]
    logits = model(x)
    for h in handles:
        h.remove()
    ext = feature_extractor(model, {"1": "conv1", "4": "conv2", "8": "fc"})
    feats = ext(x)
    assert list(feats) == ["conv1", "conv2", "fc"]
    for name, key in (("1", "conv1"), ("4", "conv2"), ("8", "fc")):
        assert np.array_equal(feats[key].numpy(), seen[name])
    # the extractor is differentiable and shares the model's parameters
    feats["fc"].sum().backward()
    assert model[0].weight.grad is not None and model[9].weight.grad is None
    ext.remove()
    assert not model[1]._forward_hooks and np.array_equal(model(x).numpy(), logits.numpy())
    flat = extract_features(model, ["4"], x.numpy(), batch_size=2)
    assert np.array_equal(flat["4"], seen["4"].reshape(5, -1))
    with pytest.raises(ValueError, match="no sub-module named 'nope'"):
        feature_extractor(model, ["nope"])


@pytest.mark.slow
def test_the_deepest_probe_is_at_least_as_good_as_raw_pixels(tmp_path):
    pytest.importorskip("sklearn")
    train, test = data.Digits(train=True, seed=0), data.Digits(train=False, seed=0)
    nv.manual_seed(0)
    model = _cnn()
    loader = data.DataLoader(data.TensorDataset(train.data, train.targets), batch_size=32, shuffle=True, seed=0)
    Trainer(model, optim.Adam(model.parameters(), lr=3e-3), nn.CrossEntropyLoss(), metrics=()).fit(loader, 10)
    # the feature hierarchy: after each conv block (conv, ReLU, pool), then the hidden fc layer
    acc = tune.layer_probes(model, ["2", "5", "8"], train.data, train.targets, test.data, test.targets,
                            epochs=100)
    assert list(acc) == ["input", "2", "5", "8"]
    print("probe accuracies:", {k: round(v, 4) for k, v in acc.items()})
    # measured (seed 0): pixels 0.9415, block 1 0.9526, block 2 0.9582, fc 0.9471
    assert acc["5"] >= acc["input"]  # the deepest conv block is at least as good as raw pixels
    pytest.importorskip("matplotlib")
    names = {"input": "raw pixels", "2": "conv block 1", "5": "conv block 2", "8": "fc 32 + ReLU"}
    for folder in _plot_dirs(tmp_path):
        out = nv.viz.plot_probes({names[k]: v for k, v in acc.items()}, f"{folder}/probes.png",
                                 title="Linear probes on a CNN trained on the 8×8 digits")
        assert out.read_bytes()[:4] == b"\x89PNG"
        nv.viz.save_filters(model, f"{folder}/probe_cnn_filters.png")


def test_receptive_field_from_the_architecture_matches_the_gradient_probe():
    one = nn.Sequential(nn.Conv2d(1, 4, 3)).double()
    assert receptive_field(one)[0]["receptive_field"] == (3, 3)
    assert receptive_field_probe(one, (1, 15, 15)) == (3, 3)
    two = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Tanh(), nn.Conv2d(4, 4, 3)).double()
    assert [r["receptive_field"] for r in receptive_field(two)] == [(3, 3), (5, 5)]
    assert receptive_field_probe(two, (1, 15, 15)) == (5, 5)
    deep = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(4, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 4, 5, dilation=2, padding=4),
                         nn.Tanh(), nn.Conv2d(4, 2, 3, stride=2)).double()
    rows = receptive_field(deep)
    assert [r["receptive_field"] for r in rows] == [(3, 3), (4, 4), (8, 8), (24, 24), (28, 28)]
    assert [r["jump"] for r in rows] == [(1, 1), (2, 2), (2, 2), (2, 2), (4, 4)]
    for r in rows:
        assert receptive_field_probe(deep, (1, 64, 64), layer=r["layer"]) == r["receptive_field"], r
    with pytest.raises(ValueError, match="no convolution or pooling"):
        receptive_field(nn.Linear(2, 2))
