"""Scalers, one-hot encoder, column routing and the saveable pipeline, checked against scikit-learn."""
import numpy as np
import pytest

from nerve.data import ColumnTransformer, MinMaxScaler, OneHotEncoder, Pipeline, StandardScaler, ToTensor

sk_pre = pytest.importorskip("sklearn.preprocessing")


def _data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    num = rng.normal(loc=[1.0, -3.0, 100.0], scale=[1.0, 0.1, 20.0], size=(n, 3))
    num[:, 1] = 7.0  # a constant feature
    cat = rng.integers(0, 4, size=(n, 1)).astype(np.float64)
    return np.concatenate([num, cat], axis=1)


def test_standard_scaler_equals_sklearn_and_standardizes():
    X = _data()[:, :3]
    ours = StandardScaler().fit(X)
    ref = sk_pre.StandardScaler().fit(X)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.scale_, ref.scale_, rtol=1e-14)
    Z = ours.transform(X)
    np.testing.assert_allclose(Z[:, [0, 2]].mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, [0, 2]].std(0), 1, atol=1e-7)
    np.testing.assert_allclose(ours.inverse_transform(Z), X, atol=1e-12)


def test_minmax_scaler_equals_sklearn():
    X = _data(1)[:, :3]
    for fr in [(0.0, 1.0), (-1.0, 2.0)]:
        ours, ref = MinMaxScaler(fr).fit(X), sk_pre.MinMaxScaler(feature_range=fr).fit(X)
        np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="low < high"):
        MinMaxScaler((1, 0))


def test_scaler_fitted_on_train_never_reads_test():
    train, test = _data(2)[:100, :3], _data(3)[:100, :3]
    s = StandardScaler().fit(train)
    before = s.state_dict()
    s.transform(test * 1000)  # whatever the test split holds, the statistics stay the train's
    assert s.state_dict() == before
    np.testing.assert_allclose(s.mean_, train.mean(0))
    with pytest.raises(RuntimeError, match="not fitted"):
        StandardScaler().transform(test)


def test_one_hot_encoder_equals_sklearn_numbers_and_strings():
    X = _data()[:, 3:]
    ours = OneHotEncoder().fit_transform(X)
    ref = sk_pre.OneHotEncoder(sparse_output=False).fit_transform(X)
    assert np.array_equal(ours, ref)
    S = np.array([["red", "s"], ["blue", "m"], ["red", "l"]])
    enc = OneHotEncoder().fit(S)
    assert np.array_equal(enc.transform(S), sk_pre.OneHotEncoder(sparse_output=False).fit_transform(S))
    with pytest.raises(ValueError, match="'green' not seen"):
        enc.transform(np.array([["green", "s"]]))
    ign = OneHotEncoder(handle_unknown="ignore").fit(S)
    assert ign.transform(np.array([["green", "s"]])).tolist() == [[0, 0, 0, 0, 1]]


def test_pipeline_with_column_transformer_equals_sklearn_and_survives_save(tmp_path):
    from sklearn.compose import ColumnTransformer as SkCT
    from sklearn.pipeline import Pipeline as SkPipe

    X = _data(4)
    train, test = X[:150], X[150:]
    ours = Pipeline([("cols", ColumnTransformer([("num", StandardScaler(), [0, 1, 2]),
                                                 ("cat", OneHotEncoder(handle_unknown="ignore"), [3])])),
                     ("mm", MinMaxScaler())]).fit(train)
    ref = SkPipe([("cols", SkCT([("num", sk_pre.StandardScaler(), [0, 1, 2]),
                                 ("cat", sk_pre.OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                                  [3])])),
                  ("mm", sk_pre.MinMaxScaler())]).fit(train)
    np.testing.assert_allclose(ours.transform(test), ref.transform(test), rtol=0, atol=1e-12)
    path = ours.save(tmp_path / "prep.json")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    loaded = Pipeline.load(path)
    assert np.array_equal(loaded.transform(test), ours.transform(test))
    assert isinstance(loaded["cols"], ColumnTransformer)
    with pytest.raises(ValueError, match="not a saved nerve Pipeline"):
        (tmp_path / "x.json").write_text("{}")
        Pipeline.load(tmp_path / "x.json")


def test_to_tensor_matches_torchvision_layout_and_scaling():
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(0).integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    out = ToTensor()(img)
    ref = torch.from_numpy(img.transpose(2, 0, 1).copy()).float().div(255).numpy()  # torchvision's recipe
    assert out.shape == (3, 5, 4) and out.dtype == np.float32 and np.array_equal(out, ref)
    assert ToTensor()(img[..., 0]).shape == (1, 5, 4)
    assert ToTensor()(np.stack([img, img])).shape == (2, 3, 5, 4)
    f = np.ones((2, 2, 1), np.float32) * 7
    assert ToTensor()(f).max() == 7.0  # non-uint8 keeps its values, as in torchvision
    from PIL import Image

    assert np.array_equal(ToTensor()(Image.fromarray(img)), out)
