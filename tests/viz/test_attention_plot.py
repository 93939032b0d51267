"""plot_attention: heads as panels, token labels checked, bad weights refused."""
import numpy as np
import pytest

import nerve as nv
from nerve.viz import plot_attention

from .pngcheck import check_png

pytest.importorskip("matplotlib")


def test_single_map_with_tokens(tmp_path):
    w = nv.functional.softmax(nv.tensor(np.random.default_rng(0).normal(size=(4, 6))), dim=-1)
    p = plot_attention(w, tmp_path / "a.png", x_labels=list("abcdef"), y_labels=list("wxyz"),
                       title="one map")
    check_png(p, min_size=(150, 150))


def test_heads_as_panels(tmp_path):
    w = np.random.default_rng(1).dirichlet(np.ones(5), size=(3, 5))
    p = plot_attention(w, tmp_path / "h.png", head_titles=["h0", "h1", "h2"])
    check_png(p, min_size=(300, 150))


@pytest.mark.parametrize("w,kw,match", [
    (np.ones((2, 2, 2, 2)), {}, "shape"),
    (np.full((2, 2), np.nan), {}, "non-finite"),
    (np.ones((2, 3)), {"x_labels": ["a"]}, "1 column labels for 3"),
    (np.ones((2, 2, 3)), {"head_titles": ["a"]}, "1 head titles for 2"),
])
def test_bad_input(tmp_path, w, kw, match):
    with pytest.raises(ValueError, match=match):
        plot_attention(w, tmp_path / "x.png", **kw)
