"""`workbench evaluate`: the metrics agree with the predictions file, the test split and
`workbench predict` on the exported model; errors are one line with exit status 2."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.core.project import load_project
from workbench.data import open_dataset
from workbench.data.link import settings_from_project
from workbench.data.samples import generate_sample
from workbench.engine.runs import train_project

#: project name -> (template, sample dataset, epochs, learning rate)
CASES = {
    "shapes": ("lenet", "shapes", 3, 0.003),
    "fruit": ("mlp", "tabular", 3, 0.01),
    "housing": ("mlp", "housing", 2, 0.01),
}

CLASSIFICATION_KEYS = [
    "task",
    "run",
    "split",
    "num_samples",
    "accuracy",
    "top_k_accuracy",
    "macro_f1",
    "weighted_f1",
    "log_loss",
    "labels",
    "confusion_matrix",
    "per_class",
    "roc_auc",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One project per case, trained briefly (its runs end with a test evaluation)."""
    root = tmp_path_factory.mktemp("evaluate")
    projects: dict[str, Path] = {}
    for name, (template, sample, epochs, lr) in CASES.items():
        (root / sample).mkdir()
        data = generate_sample(sample, root / sample)
        path = root / f"{name}.wbproj"
        assert main(["new", "--template", template, str(path)]) == 0
        result = train_project(
            path, data=data, epochs=epochs, lr=lr, batch_size=64, seed=1, device="cpu"
        )
        assert result.status == "finished" and result.test and result.test["num_samples"]
        projects[name] = path
    return projects


def evaluate(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, object] | str, str]:
    code = main(["evaluate", *args])
    out, err = capsys.readouterr()
    if code == 0 and "--json" in args:
        return code, json.loads(out), err
    return code, out, err


def size_of_test_split(path: Path) -> int:
    settings = settings_from_project(load_project(path), path)
    assert settings is not None
    return len(open_dataset(settings.path, settings.target).split(settings).test)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["shapes", "fruit"])
def test_metrics_agree_with_the_predictions_file(
    name: str, trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = trained[name]
    predictions = tmp_path / "p.csv"
    code, doc, err = evaluate(
        [str(project), "--json", "--predictions", str(predictions), "--device", "cpu"], capsys
    )
    assert code == 0, err
    assert isinstance(doc, dict) and list(doc) == CLASSIFICATION_KEYS
    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    labels = doc["labels"]
    assert isinstance(labels, list)
    assert list(rows[0]) == ["sample", "true", "predicted", *(f"p_{c}" for c in labels)]
    # the split's sample count is the dataset's test split size
    assert doc["num_samples"] == len(rows) == size_of_test_split(project)
    # accuracy is the share of rows whose true class is the predicted one
    agree = sum(r["true"] == r["predicted"] for r in rows)
    assert doc["accuracy"] == agree / len(rows)
    # the confusion matrix counts the file's (true, predicted) pairs
    pairs = Counter((r["true"], r["predicted"]) for r in rows)
    assert doc["confusion_matrix"] == [[pairs[(t, p)] for p in labels] for t in labels]
    per_class = doc["per_class"]
    assert isinstance(per_class, dict) and list(per_class) == labels
    assert [per_class[c]["support"] for c in labels] == [
        sum(r["true"] == c for r in rows) for c in labels
    ]
    # every row's probabilities sum to 1 and the predicted class is the most probable
    for r in rows:
        p = {c: float(r[f"p_{c}"]) for c in labels}
        assert sum(p.values()) == pytest.approx(1.0, abs=1e-6)
        assert max(p, key=lambda c: p[c]) == r["predicted"]
    # the test figures recorded at the end of the run are these
    recorded = load_project(project).runs[-1]["test"]
    assert recorded["accuracy"] == doc["accuracy"] and recorded["num_samples"] == len(rows)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["shapes", "fruit"])
def test_predict_on_the_exported_model_agrees_with_the_predictions(
    name: str, trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = trained[name]
    predictions = tmp_path / "p.csv"
    code, _, err = evaluate([str(project), "--predictions", str(predictions)], capsys)
    assert code == 0, err
    onnx = tmp_path / "model.onnx"
    assert main(["export", str(project), "-o", str(onnx)]) == 0
    capsys.readouterr()
    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    if name == "shapes":  # the samples are image files
        inputs = [r["sample"] for r in rows]
        key = {r["sample"]: r["predicted"] for r in rows}
    else:  # the samples are rows of the table: predict names them PATH:N
        settings = settings_from_project(load_project(project), project)
        assert settings is not None
        inputs = [settings.path]
        key = {f"{settings.path}:{r['sample']}": r["predicted"] for r in rows}
    assert main(["predict", str(onnx), *inputs, "--json", "--top-k", "1"]) == 0
    answers = {p["input"]: p["label"] for p in json.loads(capsys.readouterr().out)}
    assert set(key) <= set(answers)
    agree = sum(answers[sample] == predicted for sample, predicted in key.items())
    assert agree >= 0.99 * len(key), f"{agree} of {len(key)}"


@pytest.mark.slow
def test_regression(
    trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = trained["housing"]
    predictions = tmp_path / "p.csv"
    code, doc, err = evaluate(
        [str(project), "--json", "--predictions", str(predictions), "--split", "val"], capsys
    )
    assert code == 0, err
    assert isinstance(doc, dict)
    assert list(doc) == ["task", "run", "split", "num_samples", "mae", "rmse", "r2"]
    assert doc["task"] == "regression" and doc["split"] == "val"
    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["sample", "true", "predicted"] and len(rows) == doc["num_samples"]
    errors = [abs(float(r["true"]) - float(r["predicted"])) for r in rows]
    assert doc["mae"] == pytest.approx(sum(errors) / len(errors), rel=1e-6)
    code, text, _ = evaluate([str(project)], capsys)
    assert code == 0 and isinstance(text, str)
    assert "R²" in text and "largest errors:" in text and "\n  row " in text


@pytest.mark.slow
def test_the_summary(trained: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = evaluate([str(trained["shapes"]), "--split", "train"], capsys)
    assert code == 0 and isinstance(text, str)
    assert "on the train split" in text and "confusion matrix" in text
    for name in ("accuracy", "macro F1", "log loss", "ROC AUC", "weighted avg"):
        assert name in text
    for shape in ("circle", "cross", "square", "star", "triangle"):
        assert f"\n{shape} " in text  # a row of the per-class table and of the matrix


def test_train_prints_the_test_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "m.wbproj"
    assert main(["new", "--template", "mlp", str(project)]) == 0
    (tmp_path / "fruit").mkdir()
    data = generate_sample("tabular", tmp_path / "fruit")
    code = main(["train", str(project), "--data", str(data), "--epochs", "1", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "test (150 samples, best.pt): accuracy " in out
    assert "on 150 test samples" in err  # the run's last message


def test_errors_are_one_line_with_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "m.wbproj"
    assert main(["new", "--template", "mlp", str(project)]) == 0
    capsys.readouterr()
    for args in (
        [str(tmp_path / "missing.wbproj")],
        [str(project)],  # nothing trained
        [str(project), "--run", "20990101-000000"],
        [str(project), "--batch-size", "0"],
    ):
        code, _, err = evaluate(args, capsys)
        assert code == 2, args
        assert len(err.strip().splitlines()) == 1 and err.startswith("workbench: "), err
    with pytest.raises(SystemExit) as exit_info:  # argparse's own check of the choices
        main(["evaluate", str(project), "--split", "dev"])
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
