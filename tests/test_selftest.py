"""`workbench --self-test`: every step from a generated dataset to a prediction, or the one that failed."""

from __future__ import annotations

import pytest

from workbench import selftest
from workbench.cli import main


@pytest.mark.slow
def test_self_test_passes_and_reports_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--self-test"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Model Workbench self-test (Python environment")
    assert "torch " in lines[1] and "onnxruntime " in lines[1] and "workbench " in lines[1]
    assert lines[2] == "device: cpu"
    for step in (
        "sample dataset",
        "template",
        "train one epoch",
        "export ONNX (verified)",
        "predict with the ONNX file",
    ):
        assert any(line.strip().startswith(step) and line.endswith(" ok") for line in lines)
    assert "verified with onnxruntime" in out
    assert lines[-1].startswith("self-test passed in ")


def test_a_failed_step_is_named_and_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> str:
        raise OSError("disk full\n  (second line)")

    monkeypatch.setattr(selftest, "_make_project", broken)
    assert main(["--self-test"]) == 1
    out = capsys.readouterr().out
    assert "template" in out and "FAILED" in out
    assert out.splitlines()[-1] == "self-test FAILED at step 'template': disk full (second line)"
    assert "train one epoch" not in out  # nothing runs after the failed step


def test_self_test_takes_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--self-test", "templates"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "workbench: --self-test takes no command"


def test_versions_name_the_libraries() -> None:
    found = selftest.versions()
    assert found["workbench"] and found["python"] and found["torch"] != "-"
    assert "PySide6-Essentials" in found and "onnxscript" in found
