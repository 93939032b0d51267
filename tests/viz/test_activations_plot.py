"""plot_activations: derivatives come from nerve's autograd and agree with finite differences."""
import numpy as np
import pytest

import nerve as nv

pytest.importorskip("matplotlib")
from nerve import viz  # noqa: E402
from .pngcheck import check_png  # noqa: E402


def available(names):
    F = nv.functional
    missing = [n for n in names if not callable(getattr(F, n, None))]
    if missing:
        pytest.skip(f"activation functions not in nerve.functional yet: {missing}")


def test_derivative_by_autograd_matches_finite_differences():
    available(viz.DEFAULT_ACTIVATIONS)
    # points away from every kink (0, +-1 for hardtanh, 6 for relu6)
    x = np.array([-3.3, -1.7, -0.6, -0.2, 0.3, 0.7, 1.4, 2.9, 5.2, 6.5])
    h = 1e-6
    for name in viz.DEFAULT_ACTIVATIONS:
        fn = getattr(nv.functional, name)
        y, dy = viz.activation_and_derivative(fn, x)
        plus, _ = viz.activation_and_derivative(fn, x + h)
        minus, _ = viz.activation_and_derivative(fn, x - h)
        np.testing.assert_allclose(dy, (plus - minus) / (2 * h), rtol=1e-5, atol=1e-7,
                                   err_msg=name)
    relu_y, relu_dy = viz.activation_and_derivative(nv.functional.relu, x)
    np.testing.assert_array_equal(relu_y, np.maximum(x, 0))
    np.testing.assert_array_equal(relu_dy, (x > 0).astype(float))


def test_plot_default_activations(tmp_path):
    available(viz.DEFAULT_ACTIVATIONS)
    out = viz.plot_activations(tmp_path / "act.png")
    assert out == tmp_path / "act.png"
    check_png(out, min_size=(1000, 600))


def test_plot_custom_functions_and_errors(tmp_path):
    out = viz.plot_activations(tmp_path / "custom.png",
                               names=[("square", lambda t: t * t), ("exp", nv.exp)],
                               x_range=(-2, 2), points=101)
    check_png(out)
    _, dy = viz.activation_and_derivative(lambda t: t * t, np.array([-1.0, 0.5, 3.0]))
    np.testing.assert_allclose(dy, [-2.0, 1.0, 6.0])
    with pytest.raises(ValueError, match="no activation 'swishy'"):
        viz.plot_activations(tmp_path / "x.png", names=["swishy"])
    with pytest.raises(ValueError, match="low < high"):
        viz.plot_activations(tmp_path / "x.png", names=[("exp", nv.exp)], x_range=(1, -1))
    assert not (tmp_path / "x.png").exists()
