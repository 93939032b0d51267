"""`nerve serve`: its options, the loopback default, the warning, the RUN argument, the default run."""
import pytest

from nerve.cli import main
from nerve.cli.main import build_parser

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")


def test_defaults_bind_loopback():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.max_jobs, args.run) == ("127.0.0.1", 8000, 2, None)


@pytest.mark.parametrize("argv", [["serve", "--port", "0"], ["serve", "--port", "70000"], ["serve", "--port", "x"],
                                  ["serve", "--max-jobs", "0"]])
def test_bad_options_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "nerve: error:" in capsys.readouterr().err


def _capture_run(monkeypatch):
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: seen.update(app=app, host=host, port=port))
    return seen


def test_serve_starts_uvicorn_quietly_on_loopback(monkeypatch, tmp_path, capsys):
    seen = _capture_run(monkeypatch)
    assert main(["serve", "--runs-dir", str(tmp_path), "--port", "8123"]) == 0
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    assert seen["app"].state.settings.runs_dir == tmp_path
    assert "warning" not in capsys.readouterr().err


def test_other_hosts_warn(monkeypatch, tmp_path, capsys):
    seen = _capture_run(monkeypatch)
    assert main(["serve", "--runs-dir", str(tmp_path), "--host", "0.0.0.0"]) == 0
    assert seen["host"] == "0.0.0.0"
    assert "warning: binding 0.0.0.0" in capsys.readouterr().err


def test_run_argument_opens_that_run_first(monkeypatch, cli_runs, capsys):
    seen = _capture_run(monkeypatch)
    assert main(["serve", str(cli_runs / "digits-ch1")]) == 0
    settings = seen["app"].state.settings
    assert settings.initial_run == "digits-ch1" and settings.runs_dir == cli_runs.resolve()
    assert main(["serve", str(cli_runs / "missing")]) == 2
    assert "not a run folder" in capsys.readouterr().err


@pytest.mark.slow
def test_the_real_default_run_trains_in_seconds(tmp_path):
    """What POST /api/runs/default trains: the chapter-1 network on MNIST (1 epoch here)."""
    from nerve.runs import load_run
    from nerve.runs.live import train_default_run

    run = train_default_run(tmp_path / "chapter1-default", epochs=1)
    again = load_run(tmp_path / "chapter1-default")
    assert run.status == again.status == "complete" and again.model_name == "chapter1-mlp"
    assert again.config["results"]["test_accuracy"] > 0.85
