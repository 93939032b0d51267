"""Second edge sweep of the data pipeline and file I/O: silent wrong answers, half-done
writes and unclear errors, checked against scikit-learn, PyTorch and safetensors."""
import re

import numpy as np
import pytest

from nerve.data.preprocessing import ColumnTransformer, MinMaxScaler, OneHotEncoder, StandardScaler

sklearn_pre = pytest.importorskip("sklearn.preprocessing")


# --- preprocessing against scikit-learn -------------------------------------------------------

def test_one_hot_never_truncates_a_fraction_to_a_known_integer_category():
    X = np.array([[1], [2], [3]])
    with pytest.raises(ValueError, match="category 2.5 not seen"):
        OneHotEncoder().fit(X).transform(np.array([[2.5]]))
    ref = sklearn_pre.OneHotEncoder(sparse_output=False, handle_unknown="ignore").fit(X)
    probe = np.array([[2.5], [2.0], [3.0], [-1.0]])
    got = OneHotEncoder(handle_unknown="ignore").fit(X).transform(probe)
    np.testing.assert_array_equal(got, ref.transform(probe))
    # an integer category beyond float64's precision is not matched by a nearby float
    with pytest.raises(ValueError, match="not seen"):
        OneHotEncoder().fit(np.array([[2**60 + 1]])).transform(np.array([[float(2**60)]]))
    with pytest.raises(ValueError, match="category 'a' not seen"):
        OneHotEncoder().fit(X).transform(np.array([["a"]]))


def test_one_hot_treats_nan_seen_in_fit_as_a_category_like_sklearn():
    X = np.array([[1.0], [np.nan], [2.0], [np.nan]])
    ref = sklearn_pre.OneHotEncoder(sparse_output=False).fit(X)
    np.testing.assert_array_equal(OneHotEncoder().fit(X).transform(X), ref.transform(X))


def test_scalers_leave_nan_out_of_the_statistics_like_sklearn():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -2.0]
    X[[0, 5, 7], 0] = np.nan
    X[3, 2] = np.nan
    for ours, ref in ((StandardScaler(), sklearn_pre.StandardScaler()),
                      (MinMaxScaler((-1.0, 2.0)), sklearn_pre.MinMaxScaler((-1.0, 2.0)))):
        got, want = ours.fit_transform(X), ref.fit_transform(X)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)  # NaN stays where it was
        assert np.isnan(got).sum() == 4


def test_inverse_transform_refuses_an_array_of_the_wrong_width_instead_of_broadcasting():
    X = np.arange(12.0).reshape(4, 3) ** 2
    for scaler in (StandardScaler().fit(X), MinMaxScaler().fit(X)):
        with pytest.raises(ValueError, match="fitted on 3 features, got an array with 1"):
            scaler.inverse_transform(X[:, :1])


def test_column_transformer_negative_columns_are_not_passed_through_twice():
    X = np.array([[1.0, 5.0, 7.0], [2.0, 6.0, 9.0], [4.0, 8.0, 1.0]])
    compose = pytest.importorskip("sklearn.compose")
    want = compose.ColumnTransformer([("s", sklearn_pre.MinMaxScaler(), [-1])],
                                     remainder="passthrough").fit_transform(X)
    ct = ColumnTransformer([("s", MinMaxScaler(), [-1])], remainder="passthrough")
    np.testing.assert_allclose(ct.fit_transform(X), want)
    with pytest.raises(ValueError, match="fitted on 3 features, got an array with 2"):
        ct.transform(X[:, :2])
    with pytest.raises(ValueError, match="uses column -4, but X has 3 columns"):
        ColumnTransformer([("s", MinMaxScaler(), [-4])]).fit(X)


# --- optimizer state: a refused checkpoint changes nothing ------------------------------------

def test_a_refused_optimizer_checkpoint_leaves_the_optimizer_as_it_was(tmp_path):
    import nerve as nv

    nv.manual_seed(0)
    model = nv.nn.Linear(3, 2)
    opt = nv.optim.Adam(model.parameters(), lr=0.1)
    model(nv.ones((4, 3))).sum().backward()
    opt.step()
    nv.save(opt.state_dict(), tmp_path / "opt.pt")
    good = nv.load(tmp_path / "opt.pt")
    bad = nv.load(tmp_path / "opt.pt")
    bad["param_groups"][0]["lr"] = 5.0
    bad["state"][1]["exp_avg"] = nv.zeros(7)  # state of another architecture, found last
    before = {i: {k: np.array(v.numpy() if hasattr(v, "numpy") else v) for k, v in opt.state[p].items()}
              for i, p in enumerate(model.parameters())}
    with pytest.raises(ValueError, match="'exp_avg' of parameter 1 has shape \\(7,\\)"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.1
    for i, p in enumerate(model.parameters()):
        assert set(opt.state[p]) == set(before[i])
        for k, v in before[i].items():
            np.testing.assert_array_equal(np.asarray(opt.state[p][k].numpy() if hasattr(opt.state[p][k], "numpy")
                                                     else opt.state[p][k]), v)
    opt.load_state_dict(good)  # the saved state still loads afterwards
    assert opt.param_groups[0]["lr"] == 0.1


# --- files: clear errors for what cannot be written --------------------------------------------

def test_json_writes_numpy_dict_keys_as_the_numbers_they_hold(tmp_path):
    from nerve.io import load_json, save_json

    classes, counts = np.unique(np.array([3, 1, 3, 3]), return_counts=True)
    save_json({"counts": dict(zip(classes, counts)), "nan": {np.float32(0.5): float("nan")}},
              tmp_path / "c.json")
    assert load_json(tmp_path / "c.json") == {"counts": {"1": 1, "3": 3}, "nan": {"0.5": None}}


@pytest.mark.parametrize("arr", [np.array(["a", "b"]), np.array(["2020-01-01"], "datetime64[D]"),
                                 np.ones(2, np.complex128)])
def test_a_dtype_safetensors_cannot_store_is_a_type_error_naming_the_tensor(tmp_path, arr):
    from nerve.io import save_safetensors

    target = tmp_path / "w.safetensors"
    target.write_bytes(b"previous")
    with pytest.raises(TypeError, match=re.escape(f"'labels' has dtype {arr.dtype}, which safetensors cannot store")):
        save_safetensors({"ok": np.zeros(2), "labels": arr}, target)
    assert target.read_bytes() == b"previous"


# --- collate, samplers, ConcatDataset ---------------------------------------------------------

def test_collate_stacks_tensors_and_arrays_mixed_and_names_differing_shapes():
    import nerve as nv
    from nerve.data.dataloader import default_collate

    got = default_collate([nv.ones(2), np.zeros(2, np.float32), nv.full((2,), 3.0)])
    assert got.tolist() == [[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]]
    with pytest.raises(ValueError, match=re.escape("different shapes [(2,), (3,)]")):
        default_collate([nv.ones(2), nv.ones(3)])


def test_collate_refuses_an_integer_beyond_int64_instead_of_rounding_it():
    from nerve.data.dataloader import default_collate

    with pytest.raises(ValueError, match="the integer 9223372036854775809 does not fit in int64"):
        default_collate([1, 2**63 + 1])
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, OverflowError, ValueError)):
        torch.utils.data.default_collate([1, 2**63 + 1])  # torch refuses it too
    assert default_collate([1, 2.5]).tolist() == [1.0, 2.5]
    assert default_collate([-2**63, 2**63 - 1]).tolist() == [-2**63, 2**63 - 1]


def test_random_sampler_from_an_empty_dataset_is_a_clear_error():
    from nerve.data import RandomSampler

    for kw in ({"num_samples": 3}, {"num_samples": 3, "replacement": True}):
        with pytest.raises(ValueError, match="cannot draw num_samples=3 indices from an empty dataset"):
            list(RandomSampler([], seed=0, **kw))
    assert list(RandomSampler([], seed=0)) == []


def test_concat_dataset_serves_an_empty_batch_from_a_custom_batch_sampler():
    from nerve.data import ConcatDataset, DataLoader, TensorDataset

    ds = ConcatDataset([TensorDataset(np.arange(3.0), np.arange(3)),
                        TensorDataset(np.arange(10.0, 12.0), np.arange(10, 12))])
    batches = list(DataLoader(ds, batch_sampler=[[4, 0], [], [-1]]))
    assert [[b.tolist() for b in batch] for batch in batches] == \
        [[[11.0, 0.0], [11, 0]], [[], []], [[11.0], [11]]]


def test_random_shift_dataset_refuses_labels_that_do_not_match_the_images():
    import nerve as nv
    from nerve.data.shift import RandomShiftDataset

    images = np.zeros((10, 1, 5, 5), np.float32)
    with pytest.raises(ValueError, match="10 images but labels of shape \\(8,\\)"):
        RandomShiftDataset(images, np.arange(8))
    ds = RandomShiftDataset(nv.tensor(images), nv.tensor(np.arange(10)), seed=0)
    assert len(ds) == 10 and sorted(np.asarray(ds.get_batch(np.arange(10))[1]).tolist()) == list(range(10))


def test_write_idx_interrupted_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    import nerve.io.atomic as atomic
    from nerve.data.datasets.idx import read_idx, write_idx

    target = tmp_path / "labels-idx1-ubyte.gz"
    write_idx(target, np.arange(5, dtype=np.uint8))

    def crash(*args):
        raise KeyboardInterrupt  # the process stops before the new file is in place

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_idx(target, np.zeros(3, np.uint8))
    monkeypatch.undo()
    assert read_idx(target).tolist() == [0, 1, 2, 3, 4]
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left behind


@pytest.mark.parametrize("make", [StandardScaler, MinMaxScaler, OneHotEncoder])
def test_fitting_a_preprocessor_on_no_samples_is_a_clear_error(make):
    with pytest.raises(ValueError, match=r"\.fit needs at least one sample, got an array of shape \(0, 2\)"):
        make().fit(np.zeros((0, 2)))
    with pytest.raises(ValueError):
        getattr(sklearn_pre, make.__name__)().fit(np.zeros((0, 2)))  # scikit-learn refuses it too


def test_a_truncated_torch_zip_is_reported_as_a_damaged_pt_file_not_as_a_pickle(tmp_path):
    import nerve as nv

    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(100)}, tmp_path / "full.pt")
    data = (tmp_path / "full.pt").read_bytes()
    for cut in (100, len(data) // 2, len(data) - 30):
        (tmp_path / "cut.pt").write_bytes(data[:cut])
        with pytest.raises(ValueError, match="starts like a PyTorch .pt file .* truncated or damaged"):
            nv.load(tmp_path / "cut.pt")
    assert nv.load(tmp_path / "full.pt")["w"].tolist() == [1.0] * 100


def test_a_saved_pipeline_with_missing_values_round_trips_and_bad_files_are_named(tmp_path):
    from nerve.data.preprocessing import Pipeline

    X = np.array([[1.0, np.nan, 3.0], [2.0, 0.0, np.nan], [np.nan, 1.0, 3.0], [4.0, 0.0, 5.0]])
    ct = ColumnTransformer([("s", StandardScaler(), [0]), ("o", OneHotEncoder(), [-2]),
                            ("m", MinMaxScaler(), [2])])
    p = Pipeline([("ct", ct)]).fit(X)
    p.save(tmp_path / "p.json")
    np.testing.assert_array_equal(Pipeline.load(tmp_path / "p.json").transform(X), p.transform(X))
    with pytest.raises(FileNotFoundError, match="folder .*nope does not exist"):
        p.save(tmp_path / "nope" / "p.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="list.json is not a saved nerve Pipeline"):
        Pipeline.load(tmp_path / "list.json")
    (tmp_path / "broken.json").write_text("{oops")
    with pytest.raises(ValueError, match="broken.json is not valid JSON"):
        Pipeline.load(tmp_path / "broken.json")


def test_load_weights_reads_a_nerve_save_state_dict_and_refuses_a_whole_checkpoint(tmp_path):
    import nerve as nv

    nv.manual_seed(0)
    model = nv.nn.Sequential(nv.nn.Linear(2, 3), nv.nn.BatchNorm1d(3))
    nv.save(model.state_dict(), tmp_path / "sd.pt")
    twin = nv.nn.Sequential(nv.nn.Linear(2, 3), nv.nn.BatchNorm1d(3))
    nv.io.load_weights(twin, tmp_path / "sd.pt")
    for (k, a), (_, b) in zip(model.state_dict().items(), twin.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    # its leaves are numbered "0", "1", ...: strict=False used to skip them all and load nothing
    nv.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    for strict in (True, False):
        with pytest.raises(ValueError, match="written by nerve.save holding a dict with keys 'model', 'epoch'"):
            nv.io.load_weights(twin, tmp_path / "ckpt.pt", strict=strict)


def test_saving_an_optimizer_as_a_weight_file_points_to_nerve_save(tmp_path):
    import nerve as nv

    opt = nv.optim.Adam(nv.nn.Linear(2, 2).parameters())
    with pytest.raises(TypeError, match="'state' must be .* got dict; nested state .* is saved with nerve.save"):
        nv.io.save_state_dict(opt, tmp_path / "opt.safetensors")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("modes", [0, 2.5, True])
def test_gaussian_ring_refuses_a_mode_count_that_is_not_a_positive_integer(modes):
    from nerve.data.toy import gaussian_ring

    with pytest.raises(ValueError, match=f"modes must be a positive integer, got {modes!r}"):
        gaussian_ring(10, modes=modes)
    x, k = gaussian_ring(10, modes=3, seed=1)
    assert x.shape == (10, 2) and set(k.tolist()) <= {0, 1, 2}


def test_make_imbalanced_refuses_a_ratio_for_a_class_the_labels_do_not_have():
    from nerve.data import TensorDataset
    from nerve.data.utils import make_imbalanced

    ds = TensorDataset(np.zeros((200, 2)), np.repeat([0, 1], 100))
    with pytest.raises(ValueError, match="ratios name '1', which is not a class"):
        make_imbalanced(ds, {"1": 0.1})
    sub = make_imbalanced(ds, {np.int64(1): 0.1})
    assert np.bincount(ds.arrays[1][sub.indices]).tolist() == [100, 10]


def test_train_test_split_refuses_stratify_labels_of_another_length():
    from nerve.data.utils import train_test_split

    X = np.arange(20)
    for y in (np.repeat([0, 1], 5), np.repeat([0, 1], 15)):
        with pytest.raises(ValueError, match=f"stratify has {len(y)} labels for 20 samples"):
            train_test_split(X, seed=0, stratify=y)
    tr, te = train_test_split(X, seed=0, stratify=np.repeat([0, 1], 10))
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(20)) and len(te) == 5


def test_subset_random_sampler_refuses_fractional_indices_instead_of_truncating_them():
    import nerve as nv
    from nerve.data import SubsetRandomSampler, TensorDataset, random_split

    with pytest.raises(TypeError, match="integer indices, got dtype float64"):
        SubsetRandomSampler([3.7, 5.2], seed=0)
    assert sorted(SubsetRandomSampler(nv.tensor(np.array([3, 5])), seed=0)) == [3, 5]
    assert sorted(SubsetRandomSampler([], seed=0)) == []
    ds = TensorDataset(np.arange(10))
    assert [len(s) for s in random_split(ds, nv.tensor(np.array([7, 3])), seed=0)] == [7, 3]
    assert [len(s) for s in random_split(ds, np.array([0.7, 0.3]), seed=0)] == [7, 3]


@pytest.mark.parametrize("kw", [{"batch_sampler": [[0.0, 1.5], [2.9]]}, {"sampler": [1.5, 2.7], "batch_size": 2},
                                {"batch_sampler": [[True, False, True]]}])
def test_a_custom_sampler_giving_non_integer_indices_is_an_error_not_a_cast(kw):
    from nerve.data import DataLoader, TensorDataset

    ds = TensorDataset(np.arange(10))
    with pytest.raises(TypeError, match="gave indices of dtype (float64|bool).*indices must be integers"):
        list(DataLoader(ds, **kw))
    # torch fails on these too (its datasets refuse a float or bool index)
    got = [b[0].tolist() for b in DataLoader(ds, batch_sampler=[[3, -1], [], range(2)])]
    assert got == [[3, 9], [], [0, 1]]
