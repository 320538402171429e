"""``workbench predict`` and ``workbench serve``: output, errors, and no torch in the process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.deploy.models import Exported, one_line
from workbench.cli import main
from workbench.deploy.server import ModelServer

ROOT = Path(__file__).resolve().parents[2]


def _run_torch_free(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``workbench ARGS`` in a fresh interpreter that fails if torch was imported."""
    code = (
        "import sys; from workbench.cli import main; rc = main(sys.argv[1:]); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_predict_runs_without_torch(image_model: Exported, table_model: Exported) -> None:
    out = _run_torch_free(
        "predict",
        str(image_model.path),
        str(image_model.files[0]),
        str(image_model.files[-1]),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    preds = json.loads(out.stdout)
    assert [p["input"] for p in preds] == [str(image_model.files[0]), str(image_model.files[-1])]
    assert all(p["label"] in ("cat", "dog", "fox") and len(p["top_k"]) == 3 for p in preds)
    bad = _run_torch_free("predict", str(table_model.path), str(image_model.files[0]))
    assert bad.returncode == 2 and bad.stdout == ""
    assert (
        one_line(bad.stderr)
        and bad.stderr.startswith("workbench: ")
        and "takes table files" in bad.stderr
    )


def test_predict_prints_a_table(table_model: Exported, capsys: pytest.CaptureFixture[str]) -> None:
    new = table_model.files[0]
    assert main(["predict", str(table_model.path), str(new), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["input", "label", "probability", "top", "2"]
    assert set(lines[1]) <= {"-", " "} and len(lines) == 2 + 5
    first = lines[2].split()
    assert first[0] == f"{new}:1" and first[1] in ("apple", "banana", "cherry")
    assert 0 < float(first[2]) <= 1 and first[3] == first[1] and first[4] == first[2] + ","


def test_predict_json_and_top_k(token_model: Exported, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["predict", str(token_model.path), str(token_model.files[0]), "--json", "--top-k", "1"]
        )
        == 0
    )
    preds = json.loads(capsys.readouterr().out)
    assert len(preds) == 5 and all(len(p["top_k"]) == 1 and "labels" in p for p in preds)
    assert preds[0]["input"].endswith("new_tokens.npy[0]")


def test_predict_regression_names_its_targets(
    regression_model: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["predict", str(regression_model.path), str(regression_model.files[0])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["input", "price", "area"] and len(lines) == 2 + 3
    float(lines[2].split()[1])
    assert (
        main(["predict", str(regression_model.path), str(regression_model.files[0]), "--json"]) == 0
    )
    assert all(len(p["value"]) == 2 for p in json.loads(capsys.readouterr().out))


def test_predict_errors_are_one_line(
    tmp_path: Path, image_model: Exported, table_model: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(image_model.files[0].read_bytes()[:60])
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("weight,length,colour\n150,7.1,red\n160,7.5\n")
    text = tmp_path / "model.onnx"
    text.write_text("hello")
    cases = [
        ([str(image_model.path), str(corrupt)], "corrupt.png: cannot be decoded as an image"),
        (
            [str(table_model.path), str(ragged)],
            "ragged.csv: line 3 has 2 fields but the header has 3",
        ),
        ([str(text), str(ragged)], "model.onnx: not an ONNX model"),
        ([str(tmp_path / "missing.onnx"), str(ragged)], "missing.onnx: no such file"),
        ([str(table_model.path), str(tmp_path / "nope.csv")], "nope.csv: no such file or folder"),
        ([str(table_model.path), str(ragged), "--top-k", "0"], "--top-k must be at least 1"),
    ]
    for args, message in cases:
        capsys.readouterr()
        assert main(["predict", *args]) == 2, args
        captured = capsys.readouterr()
        assert captured.out == "" and one_line(captured.err), captured.err
        assert captured.err.startswith("workbench: ") and message in captured.err, captured.err


def test_predict_skips_corrupt_images(
    tmp_path: Path, image_model: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like training, predict leaves out images it cannot decode, says which, and goes on."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for f in image_model.files[:3]:
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "a_broken.png").write_bytes(image_model.files[0].read_bytes()[:60])
    (folder / "z_text.png").write_text("not an image")
    assert main(["predict", str(image_model.path), str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    predictions = json.loads(captured.out)
    assert [Path(p["input"]).name for p in predictions] == sorted(
        f.name for f in image_model.files[:3]
    )
    lines = captured.err.splitlines()
    assert len(lines) == 2 and all(line.startswith("workbench: skipped ") for line in lines), lines
    assert (
        "a_broken.png: cannot be decoded as an image" in lines[0]
        and "z_text.png: is not an image" in lines[1]
    )
    # Nothing decodable at all: one line, exit 2.
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "a.png").write_bytes(b"junk")
    (only_bad / "b.png").write_bytes(b"more junk")
    assert main(["predict", str(image_model.path), str(only_bad)]) == 2
    captured = capsys.readouterr()
    assert (
        captured.out == ""
        and one_line(captured.err)
        and "none of the 2 images could be decoded" in captured.err
    )


def test_serve_refuses_a_port_in_use(
    table_model: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    with ModelServer(table_model.path, port=0, quiet=True) as busy:
        port = busy.url.rsplit(":", 1)[1]
        assert main(["serve", str(table_model.path), "--port", port]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and f"cannot listen on 127.0.0.1:{port}: the port is in use" in err
    assert main(["serve", str(table_model.path), "--port", "70000"]) == 2
    assert "the port must be between 0 and 65535" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_serve_ctrl_c_right_after_the_banner_is_a_clean_stop(
    table_model: Exported, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl+C landing between the "Listening" line and the serve loop (seen under load) is
    still a clean stop: exit 0, "stopped", not the interrupted exit 130."""
    import workbench.cli

    def print_then_interrupt(*args: object, **kwargs: object) -> None:
        print(*args, **kwargs)  # type: ignore[call-overload]
        if args and str(args[0]).startswith("Listening"):
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(workbench.cli, "print", print_then_interrupt, raising=False)
    previous = signal.getsignal(signal.SIGINT)
    assert main(["serve", str(table_model.path), "--port", "0", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "stopped"
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is put back


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT and SIGTERM")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_answers_and_stops_on_ctrl_c(table_model: Exported, signum: int) -> None:
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from workbench.cli import main; rc = main(sys.argv[1:]); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", str(table_model.path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(5)]
        assert banner[0].startswith("Serving fruit.onnx: classification into 3 classes"), banner
        assert "Press Ctrl+C to stop" in banner[4]
        url = banner[1].split()[1].removesuffix("/predict")
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/health", timeout=10) as r:
            assert json.load(r) == {"status": "ok"}
        proc.send_signal(signum)
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 0
        assert rest.strip() == "stopped"
        assert proc.stderr is not None
        log = proc.stderr.read()
        assert '"GET /health" 200' in log and "Traceback" not in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
