"""Every plot writes a real PNG of a sensible size, atomically, and returns its path."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nerve as nv
from nerve import metrics as M

pytest.importorskip("matplotlib")
from nerve import viz  # noqa: E402

from .pngcheck import check_png, png_size  # noqa: E402

HISTORY = {"epoch": [1, 2, 3, 4, 5], "step": [10, 20, 30, 40, 50],
           "loss": [1.0, 0.7, 0.5, 0.45, 0.4], "val_loss": [1.1, 0.8, 0.65, 0.66, None],
           "accuracy": [0.5, 0.7, 0.8, 0.85, 0.9], "val_accuracy": [0.45, 0.66, 0.75, 0.74, 0.73],
           "lr": [0.1, 0.1, 0.05, 0.05, 0.01]}


def test_learning_curves_from_dict_json_rows_and_history_object(tmp_path):
    out = viz.plot_learning_curves(HISTORY, tmp_path / "a.png", title="run")
    assert out == tmp_path / "a.png"
    check_png(out, min_size=(900, 250))
    (tmp_path / "history.json").write_text(json.dumps(HISTORY))
    check_png(viz.plot_learning_curves(str(tmp_path / "history.json"), tmp_path / "b.png"))
    rows = [{"loss": l, "val_loss": v} for l, v in zip(HISTORY["loss"], HISTORY["val_loss"])]
    check_png(viz.plot_learning_curves(rows, tmp_path / "c.png"))

    class FakeHistory:
        def to_dict(self):
            return {"epoch": [0, 1], "loss": [1.0, 0.5]}

    check_png(viz.plot_learning_curves(FakeHistory(), tmp_path / "sub" / "d.png"))


def test_learning_curves_errors(tmp_path):
    with pytest.raises(ValueError, match="no numeric series"):
        viz.plot_learning_curves({"epoch": [1, 2], "note": "x"}, tmp_path / "e.png")
    with pytest.raises(FileNotFoundError, match="no history file"):
        viz.plot_learning_curves(str(tmp_path / "missing.json"), tmp_path / "e.png")
    assert not (tmp_path / "e.png").exists()


def test_roc_pr_and_one_vs_rest(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.normal(size=200) + y
    fpr, tpr, _ = M.roc_curve(y, s)
    check_png(viz.plot_roc(fpr, tpr, M.roc_auc_score(y, s), tmp_path / "roc.png"))
    check_png(viz.plot_roc(nv.tensor(fpr), nv.tensor(tpr), None, tmp_path / "roc2.png"))
    p, r, _ = M.precision_recall_curve(y, s)
    check_png(viz.plot_pr_curve(p, r, tmp_path / "pr.png",
                                average_precision=M.average_precision_score(y, s),
                                prevalence=float(y.mean())))
    yc = rng.integers(0, 3, 150)
    pc = rng.dirichlet(np.ones(3), 150)
    check_png(viz.plot_roc_ovr(yc, pc, tmp_path / "ovr.png", class_names=["a", "b", "c"]))
    with pytest.raises(ValueError, match="same length"):
        viz.plot_roc([0, 1], [0, 0.5, 1], None, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="2 class_names for 3 score columns"):
        viz.plot_roc_ovr(yc, pc, tmp_path / "bad.png", class_names=["a", "b"])


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_heatmap(tmp_path, normalize):
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    cm = M.confusion_matrix(y, p)
    out = viz.plot_confusion_matrix(cm, [f"c{i}" for i in range(5)], tmp_path / "cm.png",
                                    normalize=normalize)
    check_png(out)
    with pytest.raises(ValueError, match="square"):
        viz.plot_confusion_matrix(np.ones((2, 3)), None, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="3 class_names for a 5x5 matrix"):
        viz.plot_confusion_matrix(cm, ["a", "b", "c"], tmp_path / "bad.png")


def test_write_is_atomic_on_failure(tmp_path):
    from nerve.viz._figure import atomic_write

    target = tmp_path / "keep.png"
    target.write_bytes(b"old")

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError, match="crash mid-write"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"  # the previous file is untouched
    assert os.listdir(tmp_path) == ["keep.png"]  # and no temporary file is left


def test_importing_viz_does_not_import_matplotlib():
    code = "import sys, nerve; nerve.viz; nerve.metrics; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"pip install 'nerve\[plot\]'"):
        viz.plot_roc([0, 1], [0, 1], 0.5, tmp_path / "x.png")


def test_draw_graph_writes_dot_and_png_only_with_graphviz(tmp_path, monkeypatch):
    w = nv.tensor(np.ones((2, 3)), requires_grad=True)
    b = nv.tensor(np.zeros(3), requires_grad=True)
    loss = ((nv.tensor(np.ones((4, 2))) @ w + b) ** 2).sum()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no Graphviz
    files = viz.draw_graph(loss, tmp_path / "graph.png", params={"w": w, "b": b})
    assert files.dot == tmp_path / "graph.dot" and files.png is None
    text = files.dot.read_text()
    assert text.startswith("digraph") and text.count("->") >= 4 and "w\\n(2, 3)" in text
    assert not (tmp_path / "graph.png").exists()

    # a stand-in `dot` that records its arguments and writes a PNG where -o says
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "dot"
    fake.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys, shutil
        args = sys.argv[1:]
        assert args[0] == "-Tpng" and open(args[1]).read().startswith("digraph")
        shutil.copy({str(tmp_path / "src.png")!r}, args[args.index("-o") + 1])
        """))
    fake.chmod(0o755)
    viz.plot_roc([0, 1], [0, 1], 0.5, tmp_path / "src.png")
    monkeypatch.setenv("PATH", str(bindir))
    files = viz.draw_graph(loss, tmp_path / "g2.dot")
    assert files.png == tmp_path / "g2.png"
    png_size(files.png)


@pytest.mark.parametrize("name", ["plots", "activations", "graph"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    module = importlib.import_module(f"nerve.viz.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_save_evaluation_plots_writes_the_three_pictures(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    prob = M.softmax(rng.normal(size=(200, 3)) + 2.0 * np.eye(3)[y])
    written = viz.save_evaluation_plots(tmp_path, y, prob, ["a", "b", "c"], "model on data")
    assert written == [tmp_path / "confusion_matrix.png", tmp_path / "roc.png", tmp_path / "pr.png"]
    for path in written:
        check_png(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["confusion_matrix.png", "pr.png", "roc.png"]
