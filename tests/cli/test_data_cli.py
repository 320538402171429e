"""`workbench data inspect` and `data attach`: the JSON contract, fitted templates, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.data.samples import sample_path

# Each template with a dataset of the kind it is built for (the empty model takes any
# float data).
PAIRS = [
    ("lenet", "shapes"),
    ("resnet", "shapes"),
    ("empty", "shapes"),
    ("mlp", "tabular"),
    ("mlp", "housing"),
    ("empty", "tabular"),
    ("gru", "sequences"),
    ("transformer", "sequences"),
    ("rnn", "timeseries"),
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("template", "sample"), PAIRS)
def test_template_fits_a_dropped_dataset_and_info_has_no_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str, sample: str
) -> None:
    project = tmp_path / f"{template}.wbproj"
    assert run(capsys, "new", "--template", template, str(project))[0] == 0
    code, out, err = run(capsys, "data", "attach", str(project), str(sample_path(sample)))
    assert code == 0, err
    code, out, err = run(capsys, "info", str(project), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["errors"] == [], info["errors"]
    stored = json.loads(project.read_text())["dataset"]
    assert not Path(stored["path"]).is_absolute()  # kept relative to the project
    inspected = json.loads(run(capsys, "data", "inspect", str(sample_path(sample)), "--json")[1])
    output = next(n for n in info["nodes"] if n["type"] == "Output")
    if inspected["num_classes"] is not None:
        assert output["output_shape"] == ["N", inspected["num_classes"]]


def test_inspect_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "data", "inspect", str(sample_path("shapes")), "--json")
    assert code == 0
    d = json.loads(out)
    assert d["kind"] == "images" and d["num_classes"] == len(d["classes"]) == 5
    assert d["num_samples"] == sum(d["classes"].values())
    assert isinstance(d["problems"], list)
    code, out, _ = run(capsys, "data", "inspect", str(sample_path("housing")), "--json")
    d = json.loads(out)
    assert d["kind"] == "table" and d["num_classes"] is None


def test_inspect_counts_skipped_files_as_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "a" / "empty.png").write_bytes(b"")
    (tmp_path / "b" / "junk.png").write_bytes(b"not an image at all")
    d = json.loads(run(capsys, "data", "inspect", str(tmp_path), "--json")[1])
    assert d["num_samples"] == 6
    items = {Path(p["item"]).name for p in d["problems"]}
    assert {"empty.png", "junk.png"} <= items


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.csv", b"\x00\x01\x02\xff\xfe" * 50),
        ("empty.csv", b""),
        ("header_only.csv", b"a,b,label\n"),
        ("ragged.csv", b"a,b,label\n1,2,x\n1,2\n3,4,y\n"),
        ("bad.npz", b"this is not a zip file"),
    ],
)
def test_bad_data_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = run(capsys, "data", "inspect", str(path))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and name in err and "Traceback" not in err


def test_attach_bad_data_leaves_the_project_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p.wbproj"
    main(["new", "--template", "lenet", str(project)])
    before = project.read_bytes()
    (tmp_path / "nothing").mkdir()
    code, _, err = run(capsys, "data", "attach", str(project), str(tmp_path / "nothing"))
    assert code == 2 and err.startswith("workbench: ")
    assert project.read_bytes() == before


def test_a_table_with_1e308_is_a_data_problem_not_a_learning_rate_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder
) -> None:
    lines = ["a,b,label"] + [f"{(i * 7) % 11 - 5},{(i * 3) % 5},{'xy'[i % 2]}" for i in range(60)]
    lines[9] = "1e308,1,x"  # line 10
    lines[20] = "2,inf,y"  # line 21
    csv = tmp_path / "big.csv"
    csv.write_text("\n".join(lines) + "\n")
    code, out, _err = run(capsys, "data", "inspect", str(csv))
    assert code == 0
    assert "error: column 'a': 1 value(s) too large to standardize (line 10: 1e+308)" in out
    assert "warning: column 'b': 1 non-finite value(s) (line 21: 'inf'); treated as missing" in out
    assert "no problems found" not in out

    project = tmp_path / "p.wbproj"
    assert run(capsys, "new", "--template", "mlp", str(project))[0] == 0
    code, _out, err = run(capsys, "train", str(project), "--data", str(csv), "--epochs", "1")
    assert code == 2
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(
            "workbench: big.csv: column 'a': 1 value(s) too large to standardize (line 10: 1e+308)"
        )
    ), err
    assert "learning rate" not in err and "NaN" not in err
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], [
        str(w.message) for w in recwarn
    ]
