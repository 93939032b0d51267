"""`nerve train --model char-lstm|char-gpt`, `nerve sample`, `nerve params --config` (in process,
plus one real subprocess), and text runs as run folders (resume included)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nerve.cli.main import main
from nerve.io import load_state_dict
from nerve.runs import RunError, load_run

TEXT = "the cat sat on the mat. the dog sat on the log. " * 40
TINY = ["--epochs", "2", "--limit", "24", "--batch-size", "8", "--block-size", "16", "--quiet"]


def _err(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nerve: error: "), err
    return err[0]


@pytest.fixture
def text_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    return tmp_path / "t.txt"


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    """One tiny char-lstm run (through the CLI, default folder and runs/latest) shared by the tests."""
    folder = tmp_path_factory.mktemp("lm")
    (folder / "t.txt").write_text(TEXT, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        assert main(["train", "--model", "char-lstm", "--text", "t.txt", *TINY]) == 0
    finally:
        os.chdir(cwd)
    return folder / "runs" / "latest"


@pytest.mark.parametrize("model, kwargs_key", [("char-lstm", "hidden_size"), ("char-gpt", "n_layer")])
def test_train_writes_a_text_run_and_sample_continues_the_prompt(lstm_run, text_file, capsys, model, kwargs_key):
    if model == "char-lstm":
        latest = lstm_run
    else:
        assert main(["train", "--model", model, "--text", str(text_file), *TINY[:-1]]) == 0
        out = capsys.readouterr().out
        assert "validation loss" in out and "unigram entropy" in out
        latest = text_file.parent / "runs" / "latest"
    assert latest.is_symlink()
    run = load_run(latest)
    assert run.kind == "text" and run.status == "complete" and run.model_name == model
    config = json.loads((latest / "config.json").read_text())
    assert config["vocab"] == sorted(set(TEXT)) and config["block_size"] == 16
    assert config["model_kwargs"]["vocab_size"] == len(set(TEXT))
    assert kwargs_key not in config["user_model_kwargs"]
    assert np.isfinite(config["results"]["val_loss"])
    assert {"model.safetensors", "config.json", "history.json", "history.csv", "manifest.json",
            "checkpoint"} <= {p.name for p in latest.iterdir()}
    assert len(json.loads((latest / "history.json").read_text())["val_loss"]) == 2
    weights = load_state_dict(latest / "model.safetensors")
    assert sum(a.size for a in weights.values()) == run.build_model().num_parameters()

    assert main(["sample", str(latest), "--prompt", "the ", "--length", "30", "--temperature", "0.7",
                 "--top-k", "5", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("the ") and len(text.rstrip("\n")) >= 30
    assert set(text) <= set(TEXT) | {"\n"}
    assert main(["sample", str(latest), "--prompt", "the ", "--length", "30", "--temperature", "0.7",
                 "--top-k", "5", "--seed", "3"]) == 0
    assert capsys.readouterr().out == text                  # seeded: the same text again
    assert main(["sample", str(latest), "--length", "5", "--top-p", "0.9", "--temperature", "0"]) == 0
    assert len(capsys.readouterr().out) >= 5


def test_sample_and_train_errors_are_one_line(lstm_run, text_file, capsys):
    os.symlink(lstm_run.resolve(), text_file.parent / "run")
    assert main(["sample", "run", "--prompt", "Zebra"]) == 2
    assert "outside the vocabulary" in _err(capsys)
    assert main(["sample", "run", "--prompt", ""]) == 2
    assert "--prompt is empty" in _err(capsys)
    assert main(["sample", "run", "--temperature", "-1"]) == 2
    assert "temperature" in _err(capsys)
    assert main(["sample", "nowhere"]) == 2
    assert "no such run folder" in _err(capsys)
    assert main(["train", "--model", "char-lstm", "--text", "missing.txt"]) == 2
    assert "missing.txt' does not exist" in _err(capsys)
    assert main(["train", "--model", "no-such-model", "--text", str(text_file)]) == 2
    assert "choose --model from char-lstm" in _err(capsys)
    assert main(["train", "--model", "char-gpt", "--text", str(text_file), "--dataset", "digits"]) == 2
    assert "--dataset does not apply to text models" in _err(capsys)
    assert main(["train", "--model", "char-gpt", "--text", str(text_file), "--block-size", "5000"]) == 2
    assert "too few" in _err(capsys)
    (text_file.parent / "bin.txt").write_bytes(b"\xff\xfe\x00")
    assert main(["train", "--model", "char-gpt", "--text", "bin.txt"]) == 2
    assert "not UTF-8" in _err(capsys)
    assert main(["evaluate", "run"]) == 2
    assert "nerve sample" in _err(capsys)
    from nerve.runs.text import sample_text
    with pytest.raises(RunError, match="length must be"):
        sample_text("run", "the", -1)
    with pytest.raises(RunError, match="top_k"):
        sample_text("run", "the", 3, top_k=0)


def test_sample_refuses_a_classifier_run(tmp_path, capsys):
    from nerve import models
    from nerve.runs import Run

    run = Run.create(tmp_path / "img", {"model": "seed-mlp", "dataset": "digits",
                                        "classes": [str(i) for i in range(10)]})
    run.save_weights(models.get_model("seed-mlp"))
    run.finish("complete")
    assert main(["sample", str(tmp_path / "img")]) == 2
    assert "classifier model (seed-mlp), which cannot generate; 'nerve sample' works on runs of kind: autoencoder, gan, text, vae" \
        in _err(capsys)


def test_an_interrupted_text_run_resumes_to_the_same_weights(text_file, capsys, monkeypatch):
    args = ["train", "--model", "char-gpt", "--text", str(text_file), *TINY]
    assert main([*args, "--out", "whole"]) == 0
    from nerve.train import Trainer

    real = Trainer._train_epoch
    calls = []

    def stop_in_second_epoch(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(Trainer, "_train_epoch", stop_in_second_epoch)
    assert main([*args, "--out", "cut"]) == 130
    assert load_run(text_file.parent / "cut").status == "interrupted"
    monkeypatch.setattr(Trainer, "_train_epoch", real)
    capsys.readouterr()
    assert main(["train", "--resume", "cut", "--lr", "0.1"]) == 2
    assert "drop --lr" in _err(capsys)
    assert main(["train", "--resume", "cut", "--quiet"]) == 0
    a = load_state_dict(text_file.parent / "whole" / "model.safetensors")
    b = load_state_dict(text_file.parent / "cut" / "model.safetensors")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert load_run(text_file.parent / "cut").status == "complete"
    assert main(["train", "--resume", "cut"]) == 2
    assert "nothing to resume" in _err(capsys)


def test_params_config_prints_the_gpt2_arithmetic(capsys):
    assert main(["params", "--config", "gpt2"]) == 0
    out = capsys.readouterr().out
    assert "total: 124,439,808 parameters" in out
    for part in ("wte", "wpe", "ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj",
                 "ln_f", "tied", "38,597,376", "7,087,104"):
        assert part in out, part
    assert main(["params", "--config", "gpt5"]) == 2
    assert "unknown config 'gpt5'; available configs: " in _err(capsys)
    assert main(["params", "--config", "gpt2", "784", "10"]) == 2
    assert "either layer sizes or --config" in _err(capsys)
    assert main(["params", "784", "16", "16", "10"]) == 0
    assert "13,002" in capsys.readouterr().out


def test_the_real_command_samples(lstm_run):
    r = subprocess.run([sys.executable, "-m", "nerve", "sample", str(lstm_run), "--prompt", "the d", "--length",
                        "12", "--seed", "0"], cwd=lstm_run.parent, env=dict(os.environ), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("the d") and len(r.stdout) == 5 + 12 + 1, r.stderr




def test_summary_of_a_text_run(lstm_run, capsys):
    assert main(["summary", str(lstm_run)]) == 0
    out = capsys.readouterr().out
    assert "char-lstm trained on t.txt" in out and "Embedding" in out and "LSTM" in out
    assert "(1, 16, " in out                          # one window of 16 character ids


def test_params_config_prints_the_bert_base_arithmetic(capsys):
    """`nerve params --config bert-base` (issue 12): the published 109,482,240, per component; the
    masked-LM variant swaps the pooler for the head, whose decoder weight is tied (listed, not counted)."""
    assert main(["params", "--config", "bert-base"]) == 0
    out = capsys.readouterr().out
    assert "total: 109,482,240 parameters" in out
    for part in ("embeddings: word", "30,522×768", "layer: FFN in", "28,348,416", "pooler"):
        assert part in out, part
    assert main(["params", "--config", "bert-base-mlm"]) == 0
    out = capsys.readouterr().out
    assert "total: 109,514,298 parameters" in out and "shared" in out and "pooler" not in out
    from nerve.models.bert import BertConfig, BertModel, param_table
    small = BertConfig.preset("bert-tiny")  # the arithmetic equals a real build on a small config
    assert sum(r.total for r in param_table(small)) == BertModel(small).num_parameters()
