"""nerve.autograd._coerce: what nv.tensor will refuse, and how it explains it (wired in at merge)."""
import doctest

import numpy as np
import pytest

from nerve.autograd import _coerce
from nerve.autograd._coerce import as_numeric_array, check_numeric


@pytest.mark.parametrize("data, dtype", [([1, 2], np.int64), ([1.5, 2], np.float64), ([True], np.bool_),
                                         ([1 + 2j], np.complex128), ([-2**63, 2**63 - 1], np.int64),
                                         (np.array([2**63], np.uint64), np.uint64), (3, np.int64),
                                         (np.zeros((2, 3), np.float32), np.float32)])
def test_numbers_pass_unchanged(data, dtype):
    arr = np.asarray(data)
    assert check_numeric(arr, data) is arr and as_numeric_array(data).dtype == dtype


@pytest.mark.parametrize("data, error, fragments", [
    (["a", "b"], TypeError, ["from strings (dtype <U1)", "convert the text first"]),
    ([b"x"], TypeError, ["from bytes (dtype |S1)"]),
    (np.array(["2020-01-01"], "datetime64[D]"), TypeError, ["dates/times (dtype datetime64[D])", "astype('int64')"]),
    (np.array([1], "timedelta64[s]"), TypeError, ["time differences (dtype timedelta64[s])"]),
    (np.zeros(2, dtype=[("a", "i4")]), TypeError, ["structured records (dtype [('a', '<i4')])"]),
    ([1, None], TypeError, ["dtype object", "index [1] is NoneType None, not a number"]),
    (np.array([1.0, {"a": 1}], dtype=object), TypeError, ["dtype object", "index [1] is dict"]),
    ([2**70], OverflowError, ["integer 1180591620717411303424 at index [0] does not fit in int64",
                              "-9223372036854775808 to 9223372036854775807", "float"]),
    (2**70, OverflowError, ["integer 1180591620717411303424 does not fit in int64"]),
    ([[1, 2], [3, -2**64]], OverflowError, ["integer -18446744073709551616 at index [1, 1]"]),
    ([2**63], OverflowError, ["integer 9223372036854775808 at index [0] does not fit in int64"]),
    ([[1, 2], [3]], ValueError, ["ragged nested lists", "pad the rows"]),
])
def test_non_numbers_are_refused_with_the_dtype_and_the_fix(data, error, fragments):
    with pytest.raises(error) as info:
        as_numeric_array(data)
    assert "ragged" not in str(info.value) or error is ValueError  # overflow is not blamed on ragged lists
    for f in fragments:
        assert f in str(info.value)


def test_docstring_example_runs():
    result = doctest.testmod(_coerce)
    assert result.failed == 0 and result.attempted > 0
