import numpy as np
import pytest

from nerve.viz import ascii_image
from nerve.viz.terminal import RAMP


def test_ascii_image_draws_two_rows_per_line_on_the_image_range():
    img = np.zeros((28, 28), np.float32)
    img[10:18, 4] = 1.0  # a bright vertical bar in column 4, rows 10..17
    lines = ascii_image(img).splitlines()
    assert len(lines) == 14 and all(len(l) == 28 for l in lines)
    assert [l[4] for l in lines] == [" "] * 5 + ["@"] * 4 + [" "] * 5
    assert set("".join(l[:4] + l[5:] for l in lines)) == {" "}
    # any range: scaled by the image's own min and max; half-bright rows use the middle of the ramp
    ramp = ascii_image(np.array([[-5.0, 0.0, 5.0], [-5.0, 0.0, 5.0]]))
    assert ramp == " " + RAMP[5] + "@"
    odd = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]])  # the last row repeats
    assert ascii_image(odd).splitlines() == [" " + RAMP[5] + "@", " @@"]


def test_ascii_image_edge_cases():
    assert ascii_image(np.full((2, 3), 7.0)) == "   "  # constant: darkest
    assert ascii_image(np.array([[np.nan, 0.0, 1.0, np.inf, -np.inf]] * 2)) == "  @@ "
    with pytest.raises(ValueError, match="2-D"):
        ascii_image(np.zeros((1, 28, 28)))
    with pytest.raises(ValueError, match="2-D"):
        ascii_image(np.zeros((0, 3)))


def test_docstring_example_runs():
    import doctest

    from nerve.viz import terminal
    result = doctest.testmod(terminal)
    assert result.failed == 0 and result.attempted > 0


def test_save_predictions_draws_a_png_grid(tmp_path):
    pytest.importorskip("matplotlib")
    from nerve.viz import save_predictions
    prob = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    path = save_predictions(np.random.default_rng(0).random((3, 28, 28)), [0, 1, None], prob, ["a", "b", "c"],
                            tmp_path / "p.png", top=2, title="t")
    data = path.read_bytes()
    assert path == tmp_path / "p.png" and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # written atomically
    with pytest.raises(ValueError, match="same N"):
        save_predictions(np.zeros((2, 28, 28)), [0, 1], prob, ["a", "b", "c"], tmp_path / "q.png")
