"""What the Export tab says, worded without Qt (:mod:`workbench.export.wording`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.export_check import ExportIssue
from workbench.core.text import human_bytes
from workbench.export.onnx_export import ExportError
from workbench.export.report import ExportReport
from workbench.export.service import ExportResult
from workbench.export.wording import (
    RunChoice,
    curl_command,
    describe_run,
    disk_size,
    gui_wording,
    issue_text,
    list_run_choices,
    one_line,
    output_note,
    output_problem,
    result_figures,
    result_title,
    sentence,
    serve_candidate,
)


def test_a_run_is_described_by_its_best_epoch() -> None:
    rows = [
        {"epoch": 1, "val_loss": 0.9, "val_accuracy": 0.5},
        {"epoch": 2, "val_loss": 0.4, "val_accuracy": 0.94},
        {"epoch": 3, "val_loss": 0.6, "val_accuracy": 0.9},
    ]
    status = {"status": "finished", "epoch": 3, "best_epoch": 2}
    choice = describe_run("20261123-175137", status, rows, has_best=True)
    assert choice == RunChoice(
        "20261123-175137",
        "20261123-175137 · finished · 3 epochs · val_accuracy 0.94",
        "Exports the best checkpoint (epoch 2 of 3): val_loss 0.4 · val_accuracy 0.94.",
    )
    last = describe_run("r", {"status": "stopped"}, rows[:1], has_best=False)
    assert last.label == "r · stopped · 1 epoch · val_accuracy 0.5"
    assert last.detail.startswith("Exports the last checkpoint (epoch 1 of 1)")


def test_a_run_without_metrics_still_reads() -> None:
    choice = describe_run("r", {}, [], has_best=False)
    assert choice.label == "r · unknown · 0 epochs"
    assert choice.detail == "Exports the last checkpoint."
    # booleans are not metrics
    odd = describe_run("r", {"epoch": 1}, [{"epoch": 1, "val_r2": True}], has_best=False)
    assert "val_r2" not in odd.label


def test_a_project_without_runs_lists_none(tmp_path: Path) -> None:
    assert list_run_choices(tmp_path / "net.wbproj") == []


def test_errors_are_one_line() -> None:
    assert one_line(ValueError("bad value\nmore")) == "bad value"
    assert one_line(ExportError("cannot write")) == "cannot write"
    assert one_line(RuntimeError("boom\ntrace")) == "RuntimeError: boom"
    assert one_line(KeyError()) == "KeyError"
    assert one_line(OSError()) == "OSError"


def test_sentences_keep_file_and_layer_names() -> None:
    assert sentence("the port is in use:") == "The port is in use."
    assert sentence("model.py is missing") == "model.py is missing."
    assert sentence("embedding_1 needs ints") == "embedding_1 needs ints."
    assert sentence("3 files written") == "3 files written."
    assert sentence("done (twice)") == "Done (twice)"
    assert sentence("") == ""
    assert gui_wording("in use; choose another with --port") == "in use; choose another port"


def test_a_finding_names_its_layer_once() -> None:
    assert (
        issue_text(ExportIssue("dense_1", "needs opset 14", "error")) == "dense_1: needs opset 14."
    )
    assert issue_text(ExportIssue("dense_1", "dense_1: slow.")) == "dense_1: slow."
    assert issue_text(ExportIssue(None, "the graph is empty")) == "The graph is empty."


def test_output_path_rules(tmp_path: Path) -> None:
    assert output_note("", "onnx") == ("", False)
    assert output_problem("", "onnx") == "Choose where to save the export."
    missing = tmp_path / "nowhere" / "net.onnx"
    assert output_note(str(missing), "onnx") == (
        f"The folder {missing.parent} does not exist.",
        True,
    )
    assert output_problem(str(missing), "onnx") == "Fix the path to save to (above)."
    new = tmp_path / "net.onnx"
    assert output_note(str(new), "onnx") == ("", False)
    assert output_problem(str(new), "onnx") is None
    new.write_bytes(b"x")
    assert output_note(str(new), "onnx") == ("net.onnx exists and will be replaced.", False)
    assert output_note(str(tmp_path), "onnx") == (f"{tmp_path} is a folder: add a file name.", True)
    assert output_problem(str(tmp_path), "onnx") == "Fix the path to save to (above)."
    folder = tmp_path / "net_pytorch"
    assert output_note(str(folder), "python") == (
        f"Creates the folder net_pytorch in {tmp_path}.",
        False,
    )
    folder.mkdir()
    note, warn = output_note(str(folder), "python")
    assert note.startswith("net_pytorch exists: it is replaced only if it holds ") and not warn
    assert output_problem(str(folder), "python") is None


def test_only_an_existing_onnx_file_is_served(tmp_path: Path) -> None:
    onnx = tmp_path / "net.onnx"
    assert serve_candidate(str(onnx), "onnx") is None
    onnx.write_bytes(b"x")
    assert serve_candidate(str(onnx), "onnx") == onnx
    assert serve_candidate(str(onnx), "weights") is None
    assert serve_candidate("", "onnx") is None


def test_onnx_result_figures(tmp_path: Path) -> None:
    path = tmp_path / "net.onnx"
    path.write_bytes(b"x" * 2048)
    report = ExportReport(
        path=path,
        opset=18,
        max_abs_diff=5.96e-08,
        batch_sizes_checked=(1, 7),
        dynamic_axes={0: "batch"},
        seconds=1.54,
        samples_checked=16,
        samples_max_abs_diff=5.96e-08,
    )
    result = ExportResult(
        "onnx",
        path,
        [path],
        ["wrote net.onnx", "final metrics in the metadata: val_loss 1.08"],
        onnx=report,
        notes=["a note"],
    )
    rows, notes = result_figures(result, "run 20261204-1, epoch 1 (best checkpoint)")
    assert result_title(result) == "✓  Exported and verified"
    assert rows == [
        ("From", "Run 20261204-1, epoch 1 (best checkpoint)"),
        ("Largest difference", "5.96e-08 vs PyTorch (tolerance 0.0001)  ✓"),
        ("Batch sizes checked", "1, 7"),
        ("Dataset samples", "16 checked, largest difference 5.96e-08"),
        ("Dynamic axes", "batch (axis 0)"),
        ("Metrics in the file", "val_loss 1.08"),
        ("Opset", "18"),
        ("File size", "2.0 KB"),
        ("Time", "1.5 s"),
    ]
    assert notes == ["a note"]


def test_onnx_result_without_samples_says_why(tmp_path: Path) -> None:
    report = ExportReport(
        tmp_path / "n.onnx", 17, 1.0, (2,), {}, 0.1, sequence_lengths_checked=(3, 5)
    )
    why = "dataset samples not checked: no dataset"
    result = ExportResult("onnx", report.path, [], [], onnx=report, notes=[why, "other"])
    rows, notes = result_figures(result, "the untrained model")
    figures = dict(rows)
    assert "✓" not in figures["Largest difference"]
    assert figures["Sequence lengths"] == "3, 5"
    assert figures["Dataset samples"] == "Dataset samples not checked: no dataset"
    assert "Dynamic axes" not in figures and notes == ["other"]


def test_files_result_figures(tmp_path: Path) -> None:
    folder = tmp_path / "net_pytorch"
    folder.mkdir()
    files = []
    for i in range(7):
        f = folder / f"f{i}.py"
        f.write_bytes(b"x" * 100)
        files.append(f)
    lines = ["wrote net_pytorch", "model.py: max abs difference 0.0", "train.py copied"]
    result = ExportResult("python", folder, files, lines, verified=True)
    rows, notes = result_figures(result, "run r")
    assert result_title(result) == "✓  Exported and verified"
    assert rows == [
        ("From", "Run r"),
        ("Files", "f0.py, f1.py, f2.py, f3.py, f4.py, f5.py, …"),
        ("Size", "700 B"),
        ("Verified", "model.py: largest difference 0.0"),
    ]
    assert notes == ["train.py copied"]
    assert result_title(ExportResult("weights", folder, [], [])) == "✓  Exported"
    assert disk_size(folder) == 700 and disk_size(tmp_path / "missing") == 0


def test_the_example_request() -> None:
    assert (
        curl_command("http://127.0.0.1:8000", "[1, 2]")
        == "curl -X POST http://127.0.0.1:8000/predict -d '{\"instances\": [[1, 2]]}'"
    )
    assert curl_command("http://h:1", "").endswith("""-d '{"instances": [...]}'""")


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KB"),
        (3 * 1024**2, "3.0 MB"),
        (2 * 1024**3, "2.0 GB"),
    ],
)
def test_human_bytes(n: int, text: str) -> None:
    assert human_bytes(n) == text
