"""NeuralNetClassifier / NeuralNetRegressor: nerve networks inside scikit-learn."""
import numpy as np
import pytest

from nerve import classic, nn

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def _moons(n=240):
    from sklearn.datasets import make_moons

    return make_moons(n, noise=0.2, random_state=0)


def test_grid_search_over_a_nerve_network():
    X, y = _moons()
    gs = GridSearchCV(classic.NeuralNetClassifier(epochs=15, random_state=0),
                      {"module__hidden": [2, 32], "lr": [0.003, 0.05]}, cv=3).fit(X, y)
    assert gs.best_params_ == {"module__hidden": 32, "lr": 0.05}
    assert gs.best_score_ > 0.9
    assert gs.best_estimator_.module_[0].out_features == 32


def test_clone_gives_an_untrained_copy_and_the_given_module_is_never_trained():
    X, y = _moons()
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    before = net[0].weight.numpy().copy()
    clf = classic.NeuralNetClassifier(net, epochs=20, lr=0.05, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9
    np.testing.assert_array_equal(net[0].weight.numpy(), before)   # trained a copy
    fresh = clone(clf)
    assert not hasattr(fresh, "module_") and fresh.module is not clf.module
    assert fresh.get_params()["epochs"] == 20
    again = fresh.fit(X, y)
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), atol=1e-6)   # seeded


def test_pipeline_cross_val_and_string_labels():
    X, y = _moons()
    labels = np.array(["left", "right"])[y]
    pipe = make_pipeline(StandardScaler(), classic.NeuralNetClassifier(epochs=20, random_state=0))
    assert cross_val_score(pipe, X, labels, cv=3).mean() > 0.9
    pipe.fit(X, labels)
    assert set(pipe.predict(X)) == {"left", "right"}
    P = pipe.predict_proba(X)
    np.testing.assert_allclose(P.sum(1), 1.0, atol=1e-6)


def test_callbacks_validation_split_and_custom_loss_and_optimizer():
    from nerve.train import EarlyStopping

    X, y = _moons()
    stop = EarlyStopping(monitor="val_loss", patience=2)
    clf = classic.NeuralNetClassifier(
        epochs=200, lr=0.05, optimizer="sgd", optimizer__momentum=0.9, validation_split=0.25,
        callbacks=[stop], criterion=nn.MultiMarginLoss, random_state=0).fit(X, y)
    h = clf.history_
    assert "val_loss" in h and len(h["epoch"]) < 200                 # stopped early
    assert clf.score(X, y) > 0.85
    with pytest.raises(TypeError, match="unexpected argument"):
        classic.NeuralNetClassifier(hidden=3).fit(X, y)
    with pytest.raises(ValueError, match="validation_split must be in"):
        classic.NeuralNetClassifier(validation_split=1.5).fit(X, y)


def test_wrong_output_width_names_the_fix():
    X, y = _moons()
    clf = classic.NeuralNetClassifier(nn.Linear(2, 3), epochs=1).fit(X, y)  # 3 outputs, 2 classes
    with pytest.raises(ValueError, match="last layer needs 2 outputs"):
        clf.predict(X)


def test_regressor_single_and_multi_output():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1]
    reg = classic.NeuralNetRegressor(module__hidden=32, epochs=80, lr=0.02, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (300,) and reg.score(X, y) > 0.95
    Y = np.column_stack([y, -y])
    reg2 = classic.NeuralNetRegressor(epochs=80, lr=0.02, random_state=0).fit(X, Y)
    assert reg2.predict(X).shape == (300, 2) and reg2.score(X, Y) > 0.9
