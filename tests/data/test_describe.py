"""What the import dialog and the Data tab show of a dataset, made without Qt."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from workbench.data.base import (
    Augment,
    DataCancelled,
    DataError,
    DatasetInfo,
    DataSettings,
    Problem,
)
from workbench.data.describe import (
    MAX_CLASS_ROWS,
    NO_INPUT_NOTE,
    arrays_caption,
    cell_text,
    column_note,
    default_settings,
    describe_source,
    details_text,
    failure_text,
    findings_title,
    import_blocker,
    import_status,
    input_text,
    load_thumbnails,
    missing_note,
    natural_length,
    preview_caption,
    preview_rows,
    progress_text,
    rescan_text,
    retarget,
    scan_dataset,
    settings_text,
    size_note,
    split_note,
    split_source,
    summary_text,
    target_note,
    wide_to_rgba,
    with_misfit,
)


def _info(**kw: Any) -> DatasetInfo:
    base: dict[str, Any] = {
        "path": "/d",
        "kind": "images",
        "task": "classification",
        "num_samples": 1500,
        "classes": ["cat", "dog", "fox"],
        "class_counts": {"cat": 500, "dog": 500, "fox": 500},
        "problems": [],
        "sample_shape": (3, 32, 32),
    }
    base.update(kw)
    return DatasetInfo(**base)


def _image_folder(root: Path, per_class: int = 4, size: int = 16) -> Path:
    for i, cls in enumerate(("a", "b")):
        (root / cls).mkdir(parents=True)
        for j in range(per_class):
            Image.new("L", (size, size), 40 * i + j).save(root / cls / f"{j}.png")
    return root


def _table(path: Path, n: int = 40) -> Path:
    rows = ["x1,x2,label,score"]
    rows += [f"{i},{i % 7},{'yes' if i % 2 else 'no'},{i * 0.5}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _never() -> bool:
    return False


def _no_progress(done: int, total: int) -> None:
    pass


# --- summary and details lines ------------------------------------------------------------------


def test_summary_text_of_images_tables_and_arrays() -> None:
    assert summary_text(_info()) == "Images · 1,500 images · 3 classes"
    sizes = {"train": 1050, "val": 225, "test": 225}
    assert summary_text(_info(), sizes).endswith("train 1,050 / validation 225 / test 225")
    table = _info(
        kind="table",
        task="regression",
        classes=None,
        class_counts={},
        num_targets=2,
        details={"target": "price"},
    )
    assert summary_text(table) == "Table · 1,500 rows · regression (2 targets) · target “price”"
    arrays = _info(kind="arrays", classes=["only"], num_samples=1)
    assert summary_text(arrays) == "Arrays · 1 samples · 1 class"


def test_details_text_of_a_table_names_unused_columns() -> None:
    cols = [
        {"name": "a", "type": "numeric"},
        {"name": "b", "type": "categorical"},
        {"name": "id", "type": "id"},
        {"name": "k", "type": "constant"},
        "not a column",
    ]
    text = details_text(_info(kind="table", details={"columns": cols}))
    assert text == "Features: 1 numeric, 1 categorical · not used: “id”, “k”"


def test_details_text_of_arrays_and_images() -> None:
    tokens = _info(kind="arrays", sample_shape=(50,), details={"layout": "tokens", "vocab_size": 9})
    assert details_text(tokens) == "Token ids, 50 per sequence, vocabulary 9"
    seq = _info(kind="arrays", sample_shape=(20, 3), details={"layout": "sequences"})
    assert details_text(seq) == "Sequences of 20 steps × 3 features"
    feats = _info(kind="arrays", sample_shape=(8,), details={"layout": "features", "notes": ["n"]})
    assert details_text(feats) == "8 features per sample · n"
    images = _info(details={"formats": {"PNG": 1200, "JPEG": 300}, "modes": {"L": 1500}})
    assert details_text(images) == "Formats: PNG (1,200), JPEG (300) · modes: L (1,500)"
    assert details_text(_info()) == ""


def test_findings_title() -> None:
    assert findings_title([]) == "CHECK: NO PROBLEMS"
    problems = [
        Problem("a", "bad", "error"),
        Problem("b", "odd", "warning"),
        Problem("c", "odd", "warning"),
    ]
    assert findings_title(problems) == "CHECK: 1 ERROR, 2 WARNINGS"


def test_size_note() -> None:
    assert size_note({"28x28": 100}, None) == "All images are 28 × 28 px."
    assert size_note({"28x28": 100}, (28, 28)) == "All images are 28 × 28 px."
    many = {"10x10": 5, "20x20": 4, "30x30": 3, "40x40": 1}
    note = size_note(many, (48, 64))
    assert note.startswith("Sizes found: 10 × 10 px (5), 20 × 20 px (4), 30 × 30 px (3), ….")
    assert note.endswith("Suggested input size: 64 × 48 px.")
    assert size_note(None, None) == ""


def test_settings_text() -> None:
    s = DataSettings(image_size=(28, 32), color="grayscale", augment=Augment(hflip=True))
    assert settings_text("images", s) == (
        "Preprocessing: 32 × 28 px, grayscale, normalized, augmentation: flip"
    )
    plain = DataSettings(normalize=False)
    assert settings_text("images", plain).endswith("RGB, no augmentation")
    assert settings_text("table", DataSettings(missing="drop")) == (
        "Preprocessing: rows with missing values dropped"
    )
    assert settings_text("arrays", DataSettings()) == ""
    assert settings_text("arrays", DataSettings(seq_len=12)) == (
        "Preprocessing: sequences padded or truncated to 12"
    )


def test_target_note() -> None:
    assert target_note(_info(kind="table")) == "Classification into 3 classes."
    assert target_note(_info(kind="table", classes=["a"])) == "Classification into 1 class."
    regression = _info(kind="table", task="regression", classes=None)
    assert target_note(regression).startswith("Regression: the target is a number")


def test_missing_note_counts_feature_cells_only() -> None:
    assert missing_note(_info()) == "No missing values."
    cols = [
        {"name": "a", "type": "numeric", "missing": 1},
        {"name": "y", "type": "target", "missing": 50},
        "junk",
    ]
    assert missing_note(_info(kind="table", details={"columns": cols})) == (
        "1 cell missing in 1 column."
    )
    cols = [
        {"name": "a", "type": "numeric", "missing": 1200},
        {"name": "b", "type": "categorical", "missing": 3},
        {"name": "c", "type": "numeric", "missing": 0},
    ]
    assert missing_note(_info(kind="table", details={"columns": cols})) == (
        "1,203 cells missing in 2 columns."
    )


def test_split_note() -> None:
    assert split_note(_info(), False) == "Stratified by class."
    assert split_note(_info(task="regression", classes=None), False) == "Shuffled."
    given = _info(splits_given=True)
    assert split_note(given, True).startswith("The folder gives the splits (train/, val/, test/)")
    assert split_note(given, False).endswith("validation is cut from the training split.")


# --- preview tables -----------------------------------------------------------------------------


def test_cell_text() -> None:
    assert cell_text(None) == ""
    assert cell_text(math.nan) == "—"
    assert cell_text(0.123456789) == "0.123457"
    assert cell_text([1, 2]) == "[1, 2]"
    assert cell_text(list(range(10))) == "[0, 1, 2, 3, 4, 5, 6, 7, …]"
    assert cell_text("x") == "x"


def test_column_note() -> None:
    assert column_note(None) == ""
    assert column_note("target").startswith("The target")
    assert column_note("id") == "Not used: id"
    assert column_note("numeric") == "Feature (numeric)"


def test_preview_rows_of_a_table_highlights_the_target() -> None:
    info = _info(kind="table", details={"target": "y"})
    cols, rows, hl = preview_rows(info, {"columns": ["a", "y"], "rows": [[1, 2], (3, 4)]})
    assert (cols, rows, hl) == (["a", "y"], [[1, 2], [3, 4]], 1)


def test_preview_rows_of_arrays_names_missing_columns() -> None:
    info = _info(kind="arrays")
    assert preview_rows(info, {"rows": [[1, 2]]}) == (["x", "y"], [[1, 2]], 1)
    assert preview_rows(info, {"rows": [[1, 2, 3], 4]}) == (
        ["column 1", "column 2", "column 3"],
        [[1, 2, 3], [4]],
        None,
    )


def test_arrays_caption() -> None:
    assert arrays_caption({"x_shape": [1000, 28, 28], "y_shape": [1000]}) == (
        "x: (1000, 28, 28) · y: (1000,)"
    )
    assert arrays_caption({"x_shape": 5}) == "x: 5"  # not a shape: shown as it is
    assert arrays_caption({}) == ""


def test_preview_caption_of_a_table_counts_its_rows() -> None:
    info = _info(kind="table", num_samples=1234)
    preview = {"columns": ["a"], "rows": [[1], [2], [3]]}
    assert preview_caption(info, preview) == "The first 3 rows"
    assert preview_caption(info, preview, with_total=True) == "The first 3 of 1,234 rows"
    preview["total_rows"] = 5000
    assert preview_caption(info, preview, with_total=True) == "The first 3 of 5,000 rows"
    arrays = _info(kind="arrays")
    shapes = {"x_shape": [40, 50], "y_shape": [40], "rows": [[1, 2]]}
    assert preview_caption(arrays, shapes, with_total=True) == "x: (40, 50) · y: (40,)"


# --- what the dialog and the Data tab decide ----------------------------------------------------


def test_progress_text() -> None:
    assert progress_text(0, 0) == ""
    assert progress_text(1200, 0) == "1,200 files"
    assert progress_text(120, 5000) == "120 of 5,000 files"


def test_rescan_text_names_the_target() -> None:
    assert rescan_text("price") == "Scanning again with target “price”…"
    assert rescan_text(None) == "Scanning again…"


def test_failure_text_is_one_line_for_bad_data_and_for_bugs() -> None:
    assert failure_text(DataError("t.csv: the file is empty"), "/d/t.csv") == (
        "t.csv: the file is empty"
    )
    assert failure_text(ValueError("boom\nat line 2"), "/d/t.csv") == (
        "t.csv: could not be read (ValueError: boom\nat line 2)"
    )


def test_import_blocker_says_why_import_is_disabled() -> None:
    error = Problem("a.png", "only one class", "error")
    warning = Problem("b.png", "small", "warning")
    assert import_blocker(True, False, "", [warning]) == ""
    assert import_blocker(False, False, "", []) == "Scan a readable dataset first"
    assert import_blocker(True, True, "", []) == "Scan a readable dataset first"
    assert import_blocker(True, False, "t.csv: bad", []) == "Scan a readable dataset first"
    assert import_blocker(True, False, "", [warning, error]) == (
        "Fix the errors listed under Check before importing"
    )


def test_with_misfit_adds_one_row_for_a_model_that_does_not_fit() -> None:
    found = [Problem("x", "3 rows contain NaN", "warning")]
    assert with_misfit(found, fits=True) == found
    rows = with_misfit(found, fits=False)
    assert rows[:1] == found and len(rows) == 2
    assert (rows[1].item, rows[1].severity) == ("model", "warning")
    assert found == [Problem("x", "3 rows contain NaN", "warning")]  # not changed in place


def test_input_text_and_natural_length() -> None:
    assert (
        input_text((1, 28, 28), "float32")
        == "The model will see one sample as (N, 1, 28, 28) float32."
    )
    assert natural_length(_info(kind="arrays", sample_shape=(50,))) == 50
    assert natural_length(_info(kind="arrays", sample_shape=())) == 1


def test_split_source() -> None:
    assert split_source(_info(), 7) == "seed 7"
    assert split_source(_info(splits_given=True), 7) == "given by the folders"


def test_import_status() -> None:
    assert import_status("shapes", []) == "Imported shapes; the model already fits it."
    assert import_status("shapes", ["Input set to 1 × 28 × 28", NO_INPUT_NOTE]) == (
        "Imported shapes. Input set to 1 × 28 × 28; " + NO_INPUT_NOTE
    )


# --- scanning -----------------------------------------------------------------------------------


def test_scan_an_image_folder(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "imgs")
    result = scan_dataset(str(root), None, None, _no_progress, _never, images_per_class=2)
    assert result.info.kind == "images"
    assert result.info.num_classes == 2
    assert sum(result.split_sizes.values()) == 8
    assert result.target_histogram is None
    assert not result.given_has_val
    s = default_settings(result.source, result.info, root)
    assert s.path == str(root.resolve())
    assert s.color == "grayscale"


def test_scan_a_regression_table_and_retarget_it(tmp_path: Path) -> None:
    path = _table(tmp_path / "t.csv")
    result = scan_dataset(str(path), "score", None, _no_progress, _never)
    assert result.info.kind == "table" and result.info.task == "regression"
    assert result.target_histogram is not None
    counts, edges = result.target_histogram
    assert sum(counts) == 40 and len(edges) == len(counts) + 1
    assert default_settings(result.source, result.info, path).target == "score"

    again = retarget(result.source, "label", None, _no_progress, _never)
    assert again.info.task == "classification"
    assert again.target_histogram is None


def test_describe_source_stops_when_cancelled(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "imgs")
    result = scan_dataset(str(root), None, None, _no_progress, _never)
    with pytest.raises(DataCancelled):
        describe_source(result.source, str(root), None, lambda: True)


def test_class_rows_limit_the_image_preview(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "imgs", per_class=6)
    result = scan_dataset(str(root), None, None, _no_progress, _never, images_per_class=1)
    assert MAX_CLASS_ROWS >= 2  # so both classes get a row, of one image each
    assert len(result.preview["items"]) == 2


# --- thumbnails ---------------------------------------------------------------------------------


def test_load_thumbnails_enlarges_small_shrinks_large_and_survives_bad_files(
    tmp_path: Path,
) -> None:
    small = tmp_path / "small.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(small)
    large = tmp_path / "large.png"
    Image.new("RGB", (300, 150), (0, 255, 0)).save(large)
    wide = tmp_path / "wide.png"
    Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)).save(wide)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    published: list[tuple[int, int, int, bytes]] = []
    steps: list[tuple[int, int]] = []
    load_thumbnails(
        [str(small), str(large), str(wide), str(bad)],
        72,
        lambda d, t: steps.append((d, t)),
        _never,
        published.append,
    )
    by_index = {i: (w, h, len(data)) for i, w, h, data in published}
    assert by_index[0] == (72, 72, 72 * 72 * 4)  # 8 px × 9, nearest-neighbour
    assert by_index[1][0] == 72 and by_index[1][1] == 36
    assert by_index[2][:2] == (64, 64)
    assert by_index[3] == (0, 0, 0)
    assert steps[-1] == (4, 4)


def test_load_thumbnails_stops_when_cancelled(tmp_path: Path) -> None:
    published: list[Any] = []
    load_thumbnails(["x"], 72, _no_progress, lambda: True, published.append)
    assert published == []


def test_wide_to_rgba_scales_by_the_image_range() -> None:
    im = Image.fromarray(np.array([[1000, 2000]], dtype=np.uint16))
    out = np.asarray(wide_to_rgba(im))
    assert out.shape == (1, 2, 4)
    assert out[0, 0, 0] == 0 and out[0, 1, 0] == 255
    flat = np.asarray(wide_to_rgba(Image.fromarray(np.full((2, 2), 7, np.uint16))))
    assert (flat[..., 0] == 0).all()
