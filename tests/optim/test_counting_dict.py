"""CountingDict: how the flat fast path notices a changed ``opt.state`` with two comparisons."""
import copy
import pickle

import pytest

from nerve.optim._flat import CountingDict


@pytest.mark.parametrize("change", [
    lambda d: d.__setitem__("a", 9), lambda d: d.__delitem__("a"), lambda d: d.clear(),
    lambda d: d.pop("a"), lambda d: d.popitem(), lambda d: d.setdefault("new", 0),
    lambda d: d.update(b=2), lambda d: d.__ior__({"c": 3}),
], ids=["setitem", "delitem", "clear", "pop", "popitem", "setdefault-new", "update", "ior"])
def test_every_change_through_a_dict_method_is_counted_on_the_shared_counter(change):
    shared = [0]
    d, other = CountingDict({"a": 1}, counter=shared), CountingDict(counter=shared)
    before = shared[0]
    change(d)
    assert shared[0] > before and other.counter is shared


def test_reads_and_an_existing_setdefault_count_nothing():
    d = CountingDict({"a": 1})
    _ = d["a"], d.get("b"), list(d.items()), "a" in d, d.setdefault("a", 5)
    assert d.counter == [0]


def test_copies_keep_their_entries_and_one_counter_per_copy():
    shared = [0]
    a, b = CountingDict({"x": 1}, counter=shared), CountingDict({"y": 2}, counter=shared)
    c = copy.deepcopy({"a": a, "b": b})
    assert c["a"] == {"x": 1} and type(c["a"]) is CountingDict
    assert c["a"].counter is c["b"].counter and c["a"].counter is not shared
    p = pickle.loads(pickle.dumps(a))
    assert p == {"x": 1} and type(p) is CountingDict
