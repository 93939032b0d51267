"""data.sliding_windows: a hand-worked case, shapes for batch_first recurrent layers, errors."""
import doctest
import sys

import numpy as np
import pytest

import nerve as nv
from nerve.data import sliding_windows


def test_hand_case_with_horizon_and_stride():
    s = np.arange(10.0)
    X, y = sliding_windows(s, window=3, horizon=2, stride=3)
    # starts 0, 3 (a start at 6 would need steps 6..10, past the end)
    assert X.shape == (2, 3, 1) and y.shape == (2, 2, 1)
    assert X[..., 0].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert y[..., 0].tolist() == [[3, 4], [6, 7]]


def test_one_step_ahead_and_features():
    s = np.arange(12, dtype=np.float32).reshape(6, 2)          # 6 steps, 2 features
    X, y = sliding_windows(s, window=4)
    assert X.shape == (2, 4, 2) and y.shape == (2, 2) and X.dtype == np.float32
    np.testing.assert_array_equal(X[1], s[1:5])
    np.testing.assert_array_equal(y[1], s[5])
    # the smallest series that fits: exactly one sample
    X, y = sliding_windows(np.arange(5), window=4)
    assert X.shape == (1, 4, 1) and y.tolist() == [[4]]


def test_outputs_are_independent_copies_and_feed_a_recurrent_layer():
    s = np.arange(8.0)
    X, y = sliding_windows(nv.tensor(s), window=3)
    X[0, 0, 0] = 99.0
    assert s[0] == 0.0 and X[1, 0, 0] == 1.0                    # no shared memory
    out, _ = nv.nn.GRU(1, 4, batch_first=True).double()(nv.tensor(X))
    assert out.shape == (5, 3, 4)


@pytest.mark.parametrize("kwargs, match", [
    ({"window": 0}, "window must be a positive integer"),
    ({"window": 2, "horizon": 0}, "horizon"),
    ({"window": 2, "stride": 1.5}, "stride"),
    ({"window": 5}, "too short"),
])
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sliding_windows(np.arange(5.0), **kwargs)
    with pytest.raises(ValueError, match="series must be"):
        sliding_windows(np.zeros((4, 2, 2)), window=1)


def test_docstring_examples():
    mod = sys.modules["nerve.data.timeseries"]
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
