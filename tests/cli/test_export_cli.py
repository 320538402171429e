"""`workbench export`: a trained run becomes a verified ONNX file or weights; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from workbench.cli import main
from workbench.data.samples import sample_path


@pytest.mark.slow
def test_export_a_trained_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "m.wbproj"
    main(["new", "--template", "mlp", str(project)])
    assert (
        main(["train", str(project), "--data", str(sample_path("tabular")), "--epochs", "1"]) == 0
    )
    capsys.readouterr()
    assert main(["export", str(project), "-o", str(tmp_path / "m.onnx")]) == 0
    out = capsys.readouterr().out
    assert "verified with onnxruntime" in out and "note:" not in out
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert meta["task"] == "classification" and json.loads(meta["classes"]) == [
        "apple",
        "banana",
        "orange",
    ]
    assert (
        json.loads(meta["preprocessing"])["kind"] == "table"
        and json.loads(meta["output"])["size"] == 3
    )
    assert main(["export", str(project), "--format", "weights", "-o", str(tmp_path / "m.pt")]) == 0
    assert (tmp_path / "m.json").is_file()


def test_export_without_a_run_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "m.wbproj"
    main(["new", "--template", "mlp", str(project)])
    code = main(["export", str(project), "-o", str(tmp_path / "m.onnx")])
    _, err = capsys.readouterr()
    assert code == 2 and "train it first" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()


def test_export_to_a_read_only_file_system_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    project = tmp_path / "m.wbproj"
    main(["new", "--template", "mlp", str(project)])
    target_dir = tmp_path / "mounted"
    target_dir.mkdir()
    real_access, real_statvfs = os.access, os.statvfs

    class _ReadOnly:
        f_flag = os.ST_RDONLY

    # What a read-only mount looks like to the export: access() refuses, statvfs flags it.
    monkeypatch.setattr(
        os, "access", lambda p, m, **kw: False if Path(p) == target_dir else real_access(p, m, **kw)
    )
    monkeypatch.setattr(
        os, "statvfs", lambda p: _ReadOnly() if Path(p) == target_dir else real_statvfs(p)
    )
    code = main(["export", str(project), "--untrained", "-o", str(target_dir / "m.onnx")])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "read-only file system" in err and "permission denied" not in err
