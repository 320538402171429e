"""`workbench runs`: the table, --json, a damaged run, one-line errors, and no torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.data.samples import sample_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project trained twice from the command line."""
    project = tmp_path_factory.mktemp("runs") / "m.wbproj"
    assert main(["new", "--template", "mlp", str(project)]) == 0
    common = ["--epochs", "2", "--batch-size", "64", "--device", "cpu"]
    data = str(sample_path("tabular"))
    assert main(["train", str(project), "--data", data, *common]) == 0
    assert main(["train", str(project), "--lr", "0.01", *common]) == 0
    return project


def test_the_table(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["runs", str(trained)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "name", "id", "start", "duration", "device", "status", "epochs", "best", "val", "test",
    ]  # fmt: skip
    assert set(out[1]) == {"-", " "}
    ids = [run["id"] for run in json.loads(trained.read_text())["runs"]]
    assert len(out) == 4
    for line, number, run_id in zip(out[2:], (1, 2), ids, strict=True):
        cells = line.split()
        assert cells[:3] == ["Run", str(number), run_id]
        assert cells[6:10] == ["cpu", "finished", "2/2", "val_accuracy"]
        # the test metric: the run's best weights on the test split, when the run ended
        test = json.loads((trained.with_suffix(".runs") / run_id / "test.json").read_text())
        assert cells[-2:] == ["test_accuracy", f"{test['accuracy']:.4f}"]


def test_json(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["runs", str(trained), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in runs] == ["Run 1", "Run 2"]
    assert [r["hyperparameters"]["lr"] for r in runs] == [0.001, 0.01]
    first = runs[0]
    assert first["status"] == "finished" and first["epochs"] == 2 and first["device"] == "cpu"
    assert first["best_metric"]["name"] == "val_accuracy"
    assert first["test_metric"]["name"] == "test_accuracy"
    assert 0 <= first["test_metric"]["value"] <= 1
    assert Path(first["path"]).is_absolute() and Path(first["path"]).is_dir()


def test_a_damaged_run_is_listed_as_failed_with_the_reason(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(trained.parent, tmp_path / "p")
    project = tmp_path / "p" / "m.wbproj"
    run = sorted((tmp_path / "p" / "m.runs").iterdir())[0]
    (run / "status.json").write_text("{")
    capsys.readouterr()
    assert main(["runs", str(project)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].split()[6:9] == ["cpu", "failed", "2/2"]
    assert out[-1] == (
        f"Run 1 ({run.name}): damaged run folder: status.json is damaged (not valid JSON)"
    )
    assert "finished" in out[3]


def test_a_project_without_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "e.wbproj"
    assert main(["new", str(project)]) == 0
    capsys.readouterr()
    assert main(["runs", str(project)]) == 0
    assert capsys.readouterr().out == "e.wbproj has no runs yet (train with 'workbench train')\n"
    assert main(["runs", str(project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("content", [None, "{"])
def test_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    project = tmp_path / "x.wbproj"
    if content is not None:
        project.write_text(content)
    assert main(["runs", str(project)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("workbench: ")
    assert ("no such file" if content is None else "not valid JSON") in captured.err


def test_listing_runs_does_not_import_torch(trained: Path) -> None:
    code = (
        "import sys\n"
        "from workbench.cli import main\n"
        f"assert main(['runs', {str(trained)!r}, '--json']) == 0\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "False"
