"""The standalone training modules import nothing of the workbench and run from a plain folder."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import workbench.standalone

PACKAGE = Path(workbench.standalone.__file__).resolve().parent
MODULES = sorted(p for p in PACKAGE.glob("*.py") if p.name != "__init__.py")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_the_modules_import_nothing_of_the_workbench() -> None:
    assert [p.name for p in MODULES] == [
        "train.py",
        "train_arrays.py",
        "train_decode.py",
        "train_encode.py",
        "train_images.py",
        "train_optim.py",
        "train_split.py",
        "train_tables.py",
        "train_text.py",
    ]
    for path in MODULES:
        assert not [n for n in _imports(path) if n.split(".")[0] == "workbench"], path.name


def test_the_modules_import_from_a_plain_folder(tmp_path: Path) -> None:
    for path in MODULES:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    code = "import sys; import train; assert 'workbench' not in sys.modules; print(sorted(train.READERS))"
    proc = subprocess.run(
        [sys.executable, "-E", "-s", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['arrays',", "'image',", "'table']"]


def test_the_split_is_stratified_and_repeatable() -> None:
    import numpy as np

    from workbench.standalone.train_split import make_split

    labels = np.repeat(np.arange(3), 10)
    a = make_split(labels, "classification", 0.2, 0.1, seed=4)
    assert {k: len(v) for k, v in a.items()} == {"train": 21, "val": 6, "test": 3}
    assert all(
        np.array_equal(a[k], v)
        for k, v in make_split(labels, "classification", 0.2, 0.1, 4).items()
    )
    assert sorted(np.concatenate(list(a.values())).tolist()) == list(range(30))


def test_an_exported_table_reader_splits_and_reads_cells_as_the_workbench_does(
    tmp_path: Path,
) -> None:
    import math

    from workbench.data.tables import TableSource
    from workbench.standalone.train_tables import parse_number, read_table

    # Semicolons and decimal commas; a pipe inside quotes must not win over the semicolon.
    rows = "\n".join(f'{i},5;"x|{i}";{"NA" if i % 3 == 0 else i}' for i in range(30))
    path = tmp_path / "t.csv"
    path.write_text("length;name;count\n" + rows + "\n", encoding="utf-8")
    cells, delimiter = read_table(path)
    assert delimiter == ";" == TableSource.scan(path).table.delimiter
    assert cells[1] == ["0,5", "x|0", "NA"]
    for word in ("", " NA ", "n/a", "NaN", "null", "None", "?", "#N/A", "missing"):
        assert math.isnan(parse_number(word, decimal_comma=True)), word
    assert parse_number("0,5", decimal_comma=True) == 0.5
    # One column of words: nothing splits it, and the exported reader falls back to commas.
    words = tmp_path / "words.txt"
    words.write_text("just one column\nof words\n", encoding="utf-8")
    assert read_table(words) == ([["just one column"], ["of words"]], ",")
