"""`workbench evaluate --report DIR`: the page with the Evaluate tab's figures, metrics.json and
predictions.csv; a bad folder is one line before anything is evaluated; Qt is loaded only for
the report."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest
from PIL import Image

from tests.chromium import find_chromium, probe
from workbench.cli import main
from workbench.data.samples import generate_sample
from workbench.engine.evaluation.run import evaluate_run
from workbench.engine.runs import train_project

#: project name -> (template, sample dataset, epochs, learning rate)
CASES = {
    "shapes": ("lenet", "shapes", 2, 0.003),
    "housing": ("mlp", "housing", 2, 0.01),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One project per case, trained briefly."""
    root = tmp_path_factory.mktemp("report")
    projects: dict[str, Path] = {}
    for name, (template, sample, epochs, lr) in CASES.items():
        (root / sample).mkdir()
        data = generate_sample(sample, root / sample)
        path = root / f"{name}.wbproj"
        assert main(["new", "--template", template, str(path)]) == 0
        result = train_project(
            path, data=data, epochs=epochs, lr=lr, batch_size=64, seed=1, device="cpu"
        )
        assert result.status == "finished"
        projects[name] = path
    return projects


def figure_images(page: str) -> list[tuple[str, bytes]]:
    """The (alt text, PNG bytes) of the figures of a report page."""
    section = page.split('<div class="figures">', 1)[1].split("</section>", 1)[0]
    return [
        (alt, base64.b64decode(data))
        for data, alt in re.findall(
            r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)">', section
        )
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["shapes", "housing"])
def test_report_writes_the_page_the_metrics_and_the_predictions(
    name: str,
    trained: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    qapp: object,
) -> None:
    from workbench.ui.evaluate.figures import render_figures

    project = trained[name]
    folder = tmp_path / "out" / "report"  # made with its parents
    assert (
        main(["evaluate", str(project), "--json", "--report", str(folder), "--device", "cpu"]) == 0
    )
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert f"wrote the report to {folder / 'report.html'}" in err
    assert sorted(p.name for p in folder.iterdir()) == [
        "metrics.json",
        "predictions.csv",
        "report.html",
    ]
    # metrics.json is the --json document
    assert json.loads((folder / "metrics.json").read_text()) == printed
    with open(folder / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == printed["num_samples"] > 0
    # the page embeds the Evaluate tab's figures, as its renderer draws them
    page = (folder / "report.html").read_text(encoding="utf-8")
    expected = render_figures(evaluate_run(project, split="test", device="cpu"))
    shown = figure_images(page)
    assert [alt for alt, _ in shown] == [escape(title, quote=True) for title, _ in expected]
    for _, data in shown:
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "PNG" and im.width > 0
    # and the run's curves and settings, and the dataset
    assert '<svg class="chart"' in page and "<h2>Training</h2>" in page
    assert "<h2>Dataset</h2>" in page and CASES[name][1] in page


@pytest.mark.slow
@pytest.mark.skipif(
    find_chromium() is None,
    reason="no chromium binary on PATH (Debian/Ubuntu: apt-get install chromium)",
)
def test_the_report_shows_every_figure_in_chromium(
    trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "report"
    assert (
        main(["evaluate", str(trained["shapes"]), "--report", str(folder), "--device", "cpu"]) == 0
    )
    capsys.readouterr()
    found = probe(folder / "report.html")
    figures = figure_images((folder / "report.html").read_text(encoding="utf-8"))
    assert len(found["images"]) >= len(figures) > 0
    assert all(i["ok"] and i["width"] > 0 for i in found["images"]), found["images"]
    assert found["charts"] and all(c["ok"] for c in found["charts"])


@pytest.mark.slow
def test_without_qt_the_report_says_why_it_has_no_figures(
    trained: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "PySide6.QtWidgets", None)  # import fails, as without libEGL
    # (and so does the ui module that draws the figures, even if an earlier test loaded it)
    monkeypatch.setitem(sys.modules, "workbench.ui.evaluate.figures", None)
    folder = tmp_path / "report"
    assert (
        main(["evaluate", str(trained["shapes"]), "--report", str(folder), "--device", "cpu"]) == 0
    )
    _, err = capsys.readouterr()
    assert "workbench: the figures could not be drawn: Qt cannot be loaded" in err
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "the figures could not be drawn" in page and '<div class="figures">' not in page
    assert (folder / "metrics.json").is_file() and (folder / "predictions.csv").is_file()


@pytest.mark.slow
def test_a_report_folder_that_cannot_be_written_is_one_line_before_evaluating(
    trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file")
    for folder in (taken, taken / "below"):
        code = main(["evaluate", str(trained["shapes"]), "--report", str(folder)])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith(f"workbench: {taken}")
        assert "Evaluating" not in err  # said at once, not after the evaluation


@pytest.mark.slow
def test_evaluate_without_report_never_loads_qt(trained: dict[str, Path]) -> None:
    code = (
        "import sys\n"
        "from workbench.cli import main\n"
        f"code = main(['evaluate', {str(trained['housing'])!r}, '--json', '--device', 'cpu'])\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))\n"
        "print('EXIT', code, 'QT', ','.join(qt))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "EXIT 0 QT"
