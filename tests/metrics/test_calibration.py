"""Expected calibration error and reliability bins, against a hand-computed case."""
import numpy as np
import pytest

from nerve import metrics, viz


def test_ece_hand_computed_three_class_case():
    # top-class confidences and correctness, 5 bins of width 0.2:
    #   0.5 (right), 0.55 (wrong)  -> bin (0.4, 0.6]: conf 0.525, acc 0.5, gap 0.025
    #   0.7 (right)                -> bin (0.6, 0.8]: conf 0.7,   acc 1.0, gap 0.3
    #   0.9 (wrong), 0.95 (right)  -> bin (0.8, 1.0]: conf 0.925, acc 0.5, gap 0.425
    # ECE = (2·0.025 + 1·0.3 + 2·0.425) / 5 = 1.2 / 5 = 0.24
    prob = np.array([[0.5, 0.3, 0.2],
                     [0.25, 0.55, 0.2],
                     [0.1, 0.2, 0.7],
                     [0.9, 0.05, 0.05],
                     [0.02, 0.03, 0.95]])
    y = np.array([0, 0, 2, 1, 2])
    assert metrics.expected_calibration_error(y, prob, n_bins=5) == pytest.approx(0.24, abs=1e-15)
    b = metrics.reliability_bins(y, prob, n_bins=5)
    assert b.count.tolist() == [0, 0, 2, 1, 2]
    np.testing.assert_allclose(b.confidence[2:], [0.525, 0.7, 0.925])
    np.testing.assert_allclose(b.accuracy[2:], [0.5, 1.0, 0.5])
    assert np.isnan(b.accuracy[0])


def test_ece_edges_binary_input_and_extremes():
    # a confidence exactly on an edge (0.75, exact in binary) belongs to the lower bin (0.5, 0.75]
    b = metrics.reliability_bins([1, 1], [0.75, 1.0], n_bins=4)
    assert b.count.tolist() == [0, 0, 1, 1]
    # binary prob of class 1 == the two-column form
    p1 = np.array([0.9, 0.7, 0.6, 0.2])
    y = [1, 1, 0, 0]
    assert metrics.expected_calibration_error(y, p1, 5) == pytest.approx(
        metrics.expected_calibration_error(y, np.c_[1 - p1, p1], 5), abs=1e-15)
    # always confident, right 70 % of the time → 0.3; perfectly calibrated bins → 0
    y = np.r_[np.zeros(7, int), np.ones(3, int)]
    assert metrics.expected_calibration_error(y, np.tile([1.0, 0.0], (10, 1))) == pytest.approx(0.3)
    y = np.r_[np.zeros(3, int), np.ones(1, int)]
    assert metrics.expected_calibration_error(y, np.tile([0.75, 0.25], (4, 1))) == pytest.approx(0.0, abs=1e-15)


def test_ece_errors():
    with pytest.raises(ValueError, match="shape"):
        metrics.expected_calibration_error([0, 1], np.ones((3, 2)) / 2)
    with pytest.raises(ValueError, match="softmax"):
        metrics.expected_calibration_error([0, 1], [[2.0, -1.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="n_bins"):
        metrics.reliability_bins([0], [0.5], n_bins=0)


def test_reliability_diagram_png(tmp_path):
    rng = np.random.default_rng(0)
    prob = rng.dirichlet(np.ones(4) * 0.5, size=300)
    y = np.array([rng.choice(4, p=p) for p in prob])
    from viz.pngcheck import check_png
    check_png(viz.plot_reliability_diagram(y, prob, tmp_path / "rel.png", n_bins=10))
