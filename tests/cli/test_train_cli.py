"""`workbench train`: metrics JSONL keys, the run recorded, resume, one-line errors."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.data.samples import sample_path


def test_train_writes_metrics_and_records_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "m.wbproj"
    assert main(["new", "--template", "mlp", str(project)]) == 0
    metrics = tmp_path / "m.jsonl"
    code = main(
        [
            "train",
            str(project),
            "--data",
            str(sample_path("tabular")),
            "--epochs",
            "2",
            "--batch-size",
            "64",
            "--lr",
            "0.01",
            "--optimizer",
            "adamw",
            "--seed",
            "3",
            "--metrics",
            str(metrics),
            "--device",
            "cpu",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r.get("epoch", r.get("split")) for r in rows] == [1, 2, "test"]  # then the test split
    assert {
        "train_loss",
        "val_loss",
        "val_accuracy",
        "lr",
        "epoch_seconds",
        "samples_per_s",
    } <= set(rows[0])
    saved = json.loads(project.read_text())
    assert saved["runs"] and saved["dataset"]["path"]
    assert (tmp_path / "m.runs").is_dir()
    assert "finished after 2 epoch(s)" in out


def test_resume_without_an_unfinished_run_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "m.wbproj"
    main(["new", "--template", "mlp", str(project)])
    code = main(["train", str(project), "--resume"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("extra", [["--optimizer", "bogus"], ["--epochs", "0"], ["--lr", "-1"]])
def test_bad_settings_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    project = tmp_path / "m.wbproj"
    main(["new", "--template", "mlp", str(project)])
    before = project.read_bytes()
    code = main(["train", str(project), "--data", str(sample_path("tabular")), *extra])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert project.read_bytes() == before


def test_a_project_without_data_says_how_to_add_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "m.wbproj"
    main(["new", "--template", "mlp", str(project)])
    code = main(["train", str(project)])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("workbench: ")


@pytest.mark.parametrize("runs", [["zz"], "zz", [{"id": 1}]])
@pytest.mark.parametrize("resume", [False, True])
def test_a_bad_runs_list_is_one_line_and_makes_no_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], runs: object, resume: bool
) -> None:
    project = tmp_path / "m.wbproj"
    main(["new", "--template", "mlp", str(project)])
    assert main(["data", "attach", str(project), str(sample_path("tabular"))]) == 0
    doc = json.loads(project.read_text())
    doc["runs"] = runs
    project.write_text(json.dumps(doc))
    capsys.readouterr()
    code = main(
        [
            "train",
            str(project),
            "--epochs",
            "1",
            "--device",
            "cpu",
            *(["--resume"] if resume else []),
        ]
    )
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "runs" in err
    assert not (tmp_path / "m.runs").exists()


def _tabular_project(tmp_path: Path) -> Path:
    project = tmp_path / "m.wbproj"
    assert main(["new", "--template", "mlp", str(project)]) == 0
    assert main(["data", "attach", str(project), str(sample_path("tabular"))]) == 0
    return project


def test_a_read_only_file_system_for_the_runs_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _tabular_project(tmp_path)
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self.name.endswith(".runs") or self.parent.name.endswith(".runs"):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", mkdir)
    capsys.readouterr()
    code = main(["train", str(project), "--epochs", "1", "--device", "cpu"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "m.runs" in err and "read-only file system" in err


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_a_read_only_runs_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _tabular_project(tmp_path)
    runs = tmp_path / "m.runs"
    runs.mkdir()
    runs.chmod(0o555)
    try:
        capsys.readouterr()
        code = main(["train", str(project), "--epochs", "1", "--device", "cpu"])
        _, err = capsys.readouterr()
    finally:
        runs.chmod(0o755)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "permission denied" in err


def test_a_run_file_without_permission_is_not_called_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from workbench.engine import runs
    from workbench.engine.config import TrainError

    def refuse(path: object, text: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(runs, "atomic_write_text", refuse)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(TrainError, match=r"cannot be written \(permission denied\)$"):
        runs.RunDir(tmp_path).write_status("running")


def test_a_damaged_checkpoint_is_one_line_and_a_new_run_can_start_from_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _tabular_project(tmp_path)
    assert main(["train", str(project), "--epochs", "2", "--device", "cpu", "--seed", "1"]) == 0
    (run,) = (tmp_path / "m.runs").iterdir()
    status = json.loads((run / "status.json").read_text())
    status["status"] = "stopped"
    (run / "status.json").write_text(json.dumps(status))
    last = run / "checkpoints" / "last.pt"
    data = bytearray(last.read_bytes())
    middle = len(data) // 2
    data[middle - 2000 : middle + 2000] = bytes(4000)
    last.write_bytes(bytes(data))
    capsys.readouterr()
    code = main(["train", str(project), "--resume"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (
        "checkpoint last.pt is damaged (checksum mismatch)" in err
        and f"--from-run {run.name}" in err
    )
    code = main(["train", str(project), "--from-run", run.name, "--epochs", "1", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"starting from the weights of run {run.name} (best.pt" in out
    with pytest.raises(SystemExit) as exited:
        main(["train", str(project), "--resume", "--from-run", run.name])
    assert exited.value.code == 2


def test_cuda_graphs_on_a_cpu_trains_eagerly_says_why_and_a_resume_may_change_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "m.wbproj"
    main(["new", "--template", "mlp", str(project)])
    data = str(sample_path("tabular"))
    args = ["train", str(project), "--data", data, "--epochs", "1", "--device", "cpu"]
    assert main([*args, "--cuda-graphs", "on"]) == 0
    out, err = capsys.readouterr()
    assert "note: eager: CUDA graphs need a CUDA GPU; this run trains on cpu" in out + err
    run = next((tmp_path / "m.runs").iterdir())
    config = json.loads((run / "config.json").read_text())
    assert config["training"]["cuda_graphs"] == "on"
    assert "eager: CUDA graphs need a CUDA GPU; this run trains on cpu" in config["notes"]
    # auto on a CPU says nothing about graphs
    assert main([*args, "--cuda-graphs", "auto"]) == 0
    out, err = capsys.readouterr()
    assert "CUDA graph" not in out + err
    # a resumed run keeps its settings but may change the device and CUDA graphs
    status = run / "status.json"
    status.write_text(status.read_text().replace('"finished"', '"stopped"'))
    code = main(["train", str(project), "--resume", "--epochs", "2", "--cuda-graphs", "off"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "finished after 2 epoch(s)" in out
    resumed = json.loads((run / "config.json").read_text())
    assert resumed["training"]["cuda_graphs"] == "off" and resumed["resumed"]
    code = main(["train", str(project), "--resume", "--optimizer", "sgd"])
    _, err = capsys.readouterr()
    assert code == 2 and "only epochs, device and CUDA graphs" in err
    with pytest.raises(SystemExit) as usage:
        main(["train", str(project), "--cuda-graphs", "sometimes"])
    _, err = capsys.readouterr()
    assert usage.value.code == 2 and "--cuda-graphs: invalid choice: 'sometimes'" in err
