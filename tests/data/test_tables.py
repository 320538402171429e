"""Tables: reading (delimiters, headers, encodings), the check, preprocessing and bad input."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.data import open_dataset
from workbench.data.base import DataCancelled, DataError, DataSettings
from workbench.data.tables import TableSource, encode_file, encode_rows, read_table, sniff_delimiter


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def mixed_table(n: int = 200, seed: int = 0) -> str:
    """id, two numeric columns, a categorical one and a 3-class label, with a few gaps."""
    rng = np.random.default_rng(seed)
    lines = ["id,height,weight,colour,label"]
    for i in range(n):
        label = ["a", "b", "c"][i % 3]
        h = rng.normal(170 + 5 * (i % 3), 8)
        w = rng.normal(70, 10)
        colour = ["red", "green", "blue"][int(rng.integers(0, 3))]
        cells = [str(i + 1), f"{h:.2f}", f"{w:.2f}", colour, label]
        if i % 25 == 3:
            cells[1] = ""
        if i % 40 == 7:
            cells[3] = "NA"
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def problems_text(src: TableSource) -> str:
    return "\n".join(f"{p.severity} {p.item}: {p.reason}" for p in src.info().problems)


# --- reading -------------------------------------------------------------------------


def test_a_mixed_table_is_typed_and_checked(tmp_path: Path) -> None:
    src = TableSource.scan(write(tmp_path, "t.csv", mixed_table()))
    info = src.info()
    assert info.kind == "table" and info.task == "classification"
    assert (
        info.classes == ["a", "b", "c"]
        and sum(info.class_counts.values()) == info.num_samples == 200
    )
    types = {c["name"]: c["type"] for c in info.details["columns"]}
    assert types == {
        "id": "id",
        "height": "numeric",
        "weight": "numeric",
        "colour": "categorical",
        "label": "target",
    }
    assert info.details["target"] == "label" and info.details["dropped"] == ["id"]
    assert (
        info.details["rows"] == 200
        and info.details["delimiter"] == ","
        and info.details["header"] is True
    )
    assert info.sample_shape == (5,)  # height, weight, 3 colours
    text = problems_text(src)
    assert "column 'height': 8 missing value(s)" in text
    assert "column 'colour': 5 missing value(s)" in text
    assert "info column 'id': dropped: id-like" in text
    json.dumps(info.to_json())  # the inspect --json document is plain JSON
    pv = src.preview(3)
    assert pv["columns"] == ["id", "height", "weight", "colour", "label"] and len(pv["rows"]) == 3
    assert info.details["preview"]["rows"][0][0] == "1"


@pytest.mark.parametrize(
    ("name", "delim"),
    [("t.tsv", "\t"), ("t.csv", ";"), ("t.txt", "|"), ("t.txt", ","), ("t.txt", " ")],
)
def test_delimiters_are_sniffed(tmp_path: Path, name: str, delim: str) -> None:
    text = mixed_table(60).replace(",", delim).replace(f"{delim}{delim}", f"{delim}NA{delim}")
    src = TableSource.scan(write(tmp_path, name, text))
    assert src.table.delimiter == delim
    assert src.features == ["height", "weight", "colour"] and src.classes == ["a", "b", "c"]


def test_sniffer_prefers_consistent_field_counts() -> None:
    assert sniff_delimiter("a;b;c\n1,5;2,0;x\n3,5;4,25;y\n") == ";"
    assert sniff_delimiter("a\tb\n1\t2\n", ".tsv") == "\t"
    assert sniff_delimiter("just one column\nof words\n") is None


def test_decimal_commas_in_semicolon_files(tmp_path: Path) -> None:
    text = "länge;breite;sorte\n" + "\n".join(
        f"{i},5;{i % 4},25;{'a' if i % 2 else 'b'}" for i in range(30)
    )
    src = TableSource.scan(write(tmp_path, "t.csv", text))
    col = src.table.column("länge")
    assert src.table.delimiter == ";" and col is not None and col.numeric
    assert col.floats[:3].tolist() == [0.5, 1.5, 2.5]


def test_scanning_does_not_import_torch(tmp_path: Path) -> None:
    write(tmp_path, "t.csv", mixed_table(30))
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 2)), y=np.arange(4) % 2)
    code = (
        "import sys\n"
        "from workbench.data import open_dataset\n"
        f"open_dataset({str(tmp_path / 't.csv')!r}).info()\n"
        f"open_dataset({str(tmp_path / 'a.npz')!r}).info()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_headerless_table_gets_column_names(tmp_path: Path) -> None:
    rows = [f"{i * 0.5:.1f},{(i * 7) % 11},{i % 2}" for i in range(40)]
    src = TableSource.scan(write(tmp_path, "t.csv", "\n".join(rows)))
    assert src.table.names == ["column_1", "column_2", "column_3"] and not src.table.has_header
    assert src.target == "column_3" and src.classes == ["0", "1"]
    assert "no header row" in problems_text(src)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "latin-1"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    text = "naïve,größe,label\n" + "\n".join(
        f"{i},{i * 2 % 7},{'ja' if i % 2 else 'nein'}" for i in range(30)
    )
    src = TableSource.scan(write(tmp_path, "t.csv", text, encoding))
    assert src.table.names == ["naïve", "größe", "label"]  # the BOM is not part of the first name
    assert src.classes == ["ja", "nein"]
    if encoding == "latin-1":
        assert "read as Latin-1" in problems_text(src)


def test_quoted_fields_trailing_delimiters_and_blank_lines(tmp_path: Path) -> None:
    text = 'name,score,label,\n"Smith, J",1.5,x,\n"multi\nline",2.5,y,\n\n"O""Brien",3.5,x,\n'
    src = TableSource.scan(write(tmp_path, "t.csv", text))
    assert src.table.names == ["name", "score", "label"]
    assert (
        src.table.preview_rows[1][0] == "multi\nline" and src.table.preview_rows[2][0] == 'O"Brien'
    )
    assert src.info().num_samples == 3


def test_repeated_and_empty_header_names_are_made_unique(tmp_path: Path) -> None:
    text = "a,a,,label\n" + "\n".join(f"{i},{i * 3 % 5},{i % 4},{i % 2}" for i in range(30))
    src = TableSource.scan(write(tmp_path, "t.csv", text))
    assert src.table.names == ["a", "a_2", "column_3", "label"]


# --- target and task -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [("x1,Class,x2", "Class"), ("x1,x2,TARGET", "TARGET"), ("y,x1,x2", "y"), ("x1,x2,x3", "x3")],
)
def test_default_target(tmp_path: Path, header: str, expected: str) -> None:
    rows = [f"{i % 2},{(i * 3) % 7},{i % 3}" for i in range(30)]
    src = TableSource.scan(write(tmp_path, "t.csv", header + "\n" + "\n".join(rows)))
    assert src.target == expected


def test_user_target_case_insensitive_and_unknown(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", mixed_table(30))
    assert TableSource.scan(p, target="COLOUR").target == "colour"
    with pytest.raises(
        DataError,
        match=r"t\.csv: no column named 'price' \(columns: 'id', 'height', 'weight', 'colour', 'label'\)",
    ):
        TableSource.scan(p, target="price")
    src = TableSource.scan(p).with_target("colour")
    assert src.classes == ["blue", "green", "red"] and "label" in src.features


def test_prepare_follows_the_settings_target(tmp_path: Path) -> None:
    src = TableSource.scan(write(tmp_path, "t.csv", mixed_table(60)))
    prep = src.prepare(DataSettings(target="colour"))
    assert prep.preprocessing["target"] == "colour" and prep.classes == ["blue", "green", "red"]


def test_regression_and_classification_detection(tmp_path: Path) -> None:
    n = 200
    rng = np.random.default_rng(1)
    cols = {
        "float_y": [f"{v:.3f}" for v in rng.normal(size=n)],  # fractions → regression
        "many_ints": [
            str(int(v)) for v in rng.integers(0, 500, n)
        ],  # > 20 distinct, > 5 % → regression
        "few_ints": [
            str(int(v)) for v in rng.choice([1, 2, 10], n)
        ],  # → classes, sorted as numbers
        "whole_floats": [
            f"{v}.0" for v in rng.integers(0, 3, n)
        ],  # 0.0, 1.0, 2.0 → classes "0", "1", "2"
    }
    text = (
        "f,"
        + ",".join(cols)
        + "\n"
        + "\n".join(f"{rng.normal():.3f}," + ",".join(cols[c][i] for c in cols) for i in range(n))
    )
    p = write(tmp_path, "t.csv", text)
    assert TableSource.scan(p, target="float_y").task == "regression"
    assert TableSource.scan(p, target="many_ints").task == "regression"
    few = TableSource.scan(p, target="few_ints")
    assert few.task == "classification" and few.classes == ["1", "2", "10"]
    assert TableSource.scan(p, target="whole_floats").classes == ["0", "1", "2"]
    reg = TableSource.scan(p, target="float_y")
    info = reg.info()
    assert info.classes is None and info.num_classes is None and info.class_counts == {}
    prep = reg.prepare(DataSettings())
    assert prep.task == "regression" and prep.num_targets == 1 and prep.classes is None
    assert (
        tuple(prep.train.y.shape) == (len(prep.train), 1)
        and str(prep.train.y.dtype) == "torch.float32"
    )
    # the targets stay as they are; their training-split scale is recorded for the trainer and exports
    y = prep.train.y.numpy().ravel()
    scale = prep.preprocessing["target_scale"]
    assert scale["mean"] == [pytest.approx(float(y.astype("float64").mean()), rel=1e-6)]
    assert scale["std"] == [pytest.approx(float(y.astype("float64").std()), rel=1e-6)]
    assert "target_scale" not in src_classification_preprocessing(p)


def test_rows_without_a_target_are_left_out(tmp_path: Path) -> None:
    rows = [f"{i},{(i * 7) % 13},{'' if i % 10 == 0 else i % 2}" for i in range(50)]
    src = TableSource.scan(write(tmp_path, "t.csv", "a,b,label\n" + "\n".join(rows)))
    assert src.info().num_samples == 45 and len(src.labels) == 45
    assert "5 row(s) (10 %) have no target value" in problems_text(src)


def test_single_class_is_an_error_and_prepare_refuses(tmp_path: Path) -> None:
    src = TableSource.scan(
        write(tmp_path, "t.csv", "a,b,label\n" + "\n".join(f"{i},{i % 3},same" for i in range(20)))
    )
    errors = [p for p in src.info().problems if p.severity == "error"]
    assert len(errors) == 1 and "single class ('same')" in errors[0].reason
    with pytest.raises(DataError, match="single class"):
        src.prepare(DataSettings())


def test_imbalance_and_tiny_classes_are_warned(tmp_path: Path) -> None:
    labels = ["big"] * 90 + ["small"] * 8 + ["tiny"] * 2
    rows = [f"{i * 1.5},{(i * 3) % 7},{lab}" for i, lab in enumerate(labels)]
    src = TableSource.scan(write(tmp_path, "t.csv", "a,b,label\n" + "\n".join(rows)))
    text = problems_text(src)
    assert "classes are imbalanced: 'big' has 90 rows, 'tiny' only 2" in text
    assert "1 class(es) have fewer than 3 rows ('tiny')" in text


# --- columns: ids, categories, non-numeric cells --------------------------------------


def test_id_like_constant_and_high_cardinality_columns_are_dropped(tmp_path: Path) -> None:
    n = 120
    rng = np.random.default_rng(2)
    lines = ["user_id,seq,uuid,const,city,note,x,label"]
    for i in range(n):
        lines.append(
            ",".join(
                [
                    str(int(rng.integers(10**6, 10**7)) * 1000 + i),  # unique numbers named *_id
                    str(i),  # 0..n-1: the row number
                    f"u-{rng.integers(10**9):x}-{i}",  # unique texts
                    "7",
                    f"city{i % 60}",  # 60 distinct texts: too many to one-hot
                    f"note {i % 4}",
                    f"{rng.normal():.3f}",
                    str(i % 2),
                ]
            )
        )
    src = TableSource.scan(write(tmp_path, "t.csv", "\n".join(lines)))
    types = {s.name: s.type for s in src.column_summaries}
    assert types == {
        "user_id": "id",
        "seq": "id",
        "uuid": "id",
        "const": "constant",
        "city": "too many values",
        "note": "categorical",
        "x": "numeric",
        "label": "target",
    }
    assert src.dropped == ["user_id", "seq", "uuid", "const", "city"]
    prep = src.prepare(DataSettings())
    assert prep.input_shape == (5,)  # x + 4 notes
    assert "Column 'seq' dropped: id-like: the row numbers 0…119" in prep.notes, prep.notes


def test_non_numeric_cells_in_a_numeric_column(tmp_path: Path) -> None:
    rows = [f"{i * 0.5},{(i * 3) % 7},{i % 2}" for i in range(60)]
    rows[4] = "oops,1,0"
    rows[9] = "inf,2,1"
    src = TableSource.scan(write(tmp_path, "t.csv", "a,b,label\n" + "\n".join(rows)))
    assert {s.name: s.type for s in src.column_summaries}["a"] == "numeric"
    text = problems_text(src)
    assert (
        "column 'a': 1 non-numeric cell(s) in a numeric column (line 6: 'oops'); treated as missing"
        in text
    )
    assert "column 'a': 1 non-finite value(s) (line 11: 'inf'); treated as missing" in text
    prep = src.prepare(DataSettings())
    assert any("Imputed 2 missing cell(s)" in n for n in prep.notes)
    assert np.isfinite(prep.train.x.numpy()).all()


def test_no_usable_feature_is_a_data_error(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", "id,label\n" + "\n".join(f"{i},{i % 2}" for i in range(30)))
    with pytest.raises(
        DataError,
        match=r"t\.csv: no usable feature columns besides the target 'label' \(dropped: 'id'",
    ):
        TableSource.scan(p)


# --- preprocessing -------------------------------------------------------------------


def test_standardization_uses_training_statistics_only(tmp_path: Path) -> None:
    src = TableSource.scan(write(tmp_path, "t.csv", mixed_table(300)))
    prep = src.prepare(DataSettings(seed=3))
    raw = src.table.column("weight")
    assert raw is not None
    train_rows = src._rows[prep.split.train]
    w = raw.floats[train_rows]
    spec = {f["name"]: f for f in prep.preprocessing["features"]}["weight"]
    assert spec["mean"] == pytest.approx(float(np.nanmean(w)))
    assert spec["std"] == pytest.approx(float(np.nanstd(w)))
    col = prep.preprocessing["feature_names"].index("weight")
    train_x = prep.train.x.numpy()[:, col]
    assert abs(train_x.mean()) < 1e-5 and train_x.std() == pytest.approx(1.0, abs=1e-4)
    all_w = raw.floats[src._rows]
    assert spec["mean"] != pytest.approx(
        float(np.nanmean(all_w)), abs=1e-9
    )  # not the whole table's
    test_rows = src._rows[prep.split.test]
    expected = (raw.floats[test_rows] - spec["mean"]) / spec["std"]
    np.testing.assert_allclose(prep.test.x.numpy()[:, col], expected, rtol=1e-5)


def test_one_hot_from_the_training_split_and_unseen_categories(tmp_path: Path) -> None:
    rows = [f"{i * 0.1:.1f},{['p', 'q'][i % 2]},{i % 2}" for i in range(60)]
    rows[0] = "0.0,rare,0"
    src = TableSource.scan(write(tmp_path, "t.csv", "x,kind,label\n" + "\n".join(rows)))
    for seed in range(6):
        s = DataSettings(seed=seed)
        prep = src.prepare(s)
        cats = {f["name"]: f for f in prep.preprocessing["features"]}["kind"]["categories"]
        assert src.input_spec(s)[0] == prep.input_shape
        in_train = 0 in prep.split.train
        assert cats == (["p", "q", "rare"] if in_train else ["p", "q"])
        if not in_train:
            part, idx = (
                (prep.val, prep.split.val) if 0 in prep.split.val else (prep.test, prep.split.test)
            )
            pos = int(np.flatnonzero(idx == 0)[0])
            assert part.x.numpy()[pos, 1:].tolist() == [0.0, 0.0]  # unseen in training: all zeros
    pre = src.prepare(DataSettings()).preprocessing
    x = encode_rows(["kind", "x"], [["q", "0.5"], ["never seen", None], [None, "1.0"]], pre)
    n_cats = len(pre["features"][1]["categories"])
    assert x.shape == (3, 1 + n_cats)
    assert x[0, 1:].tolist().count(1.0) == 1 and x[1, 1:].sum() == 0
    fill = pre["features"][1]["fill"]
    assert x[2, 1 + pre["features"][1]["categories"].index(fill)] == 1.0  # missing → most frequent
    assert x[1, 0] == 0.0  # a missing number → the training mean


def test_impute_versus_drop(tmp_path: Path) -> None:
    src = TableSource.scan(write(tmp_path, "t.csv", mixed_table(200)))
    imputed = src.prepare(DataSettings(missing="impute"))
    assert sum(imputed.split.sizes().values()) == 200
    assert any(
        "Imputed 13 missing cell(s)" in n and "'height' 8" in n and "'colour' 5" in n
        for n in imputed.notes
    )
    dropped = src.prepare(DataSettings(missing="drop"))
    incomplete = 13  # 8 rows miss a height, 5 others a colour
    assert sum(dropped.split.sizes().values()) == 200 - incomplete
    assert sum(len(d) for d in (dropped.train, dropped.val, dropped.test)) == 200 - incomplete
    assert any(
        n.startswith(f"Dropped {incomplete} row(s) with missing values (train ")
        for n in dropped.notes
    )
    assert src.input_spec(DataSettings(missing="drop"))[0] == dropped.input_shape


def test_split_is_reproducible_with_a_seed(tmp_path: Path) -> None:
    src = TableSource.scan(write(tmp_path, "t.csv", mixed_table(150)))
    a, b = src.prepare(DataSettings(seed=7)), src.prepare(DataSettings(seed=7))
    np.testing.assert_array_equal(a.split.train, b.split.train)
    assert (a.train.x == b.train.x).all() and (a.test.y == b.test.y).all()
    c = src.prepare(DataSettings(seed=8))
    assert not np.array_equal(a.split.test, c.split.test)
    sizes = a.split.sizes()
    assert sizes == {"train": 102, "val": 24, "test": 24}  # stratified: 50 per class, 8 (15 %) each


def test_prepared_tensors_and_inference_encoding_agree(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", mixed_table(120))
    src = TableSource.scan(p)
    prep = src.prepare(DataSettings())
    assert prep.input_dtype == "float32" and prep.input_shape == (5,) and prep.num_classes == 3
    assert str(prep.train.y.dtype) == "torch.int64" and prep.in_memory
    json.dumps(prep.preprocessing)  # stored in the project / exported beside the model
    everything = encode_file(p, prep.preprocessing)
    np.testing.assert_allclose(everything[src._rows[prep.split.val]], prep.val.x.numpy(), rtol=1e-6)
    header = src.table.names
    rows = src.table.preview_rows[:5]
    np.testing.assert_allclose(
        encode_rows(header, rows, prep.preprocessing), everything[:5], rtol=1e-6
    )
    dicts = [dict(zip(header, r, strict=True)) for r in rows]
    np.testing.assert_allclose(
        TableSource.transform_rows(dicts, prep.preprocessing), everything[:5], rtol=1e-6
    )
    with pytest.raises(DataError, match="no column 'weight'"):
        encode_rows(["height", "colour"], [["1", "red"]], prep.preprocessing)


def test_progress_and_cancel(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "t.csv",
        "a,b,label\n" + "\n".join(f"{i % 97},{i % 13},{i % 2}" for i in range(20000)),
    )
    seen: list[tuple[int, int]] = []
    TableSource.scan(p, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] == p.stat().st_size
    with pytest.raises(DataCancelled):
        TableSource.scan(p, cancelled=lambda: True)


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"bad\.csv: the file is empty"),
        (b"\n\n  \n", r"bad\.csv: the file is empty \(only blank lines\)"),
        (b"a,b,label\n", r"bad\.csv: has a header but no data rows"),
        (
            b"a,b,label\n1,2,x\n3,4\n5,6,y\n",
            r"bad\.csv: line 3 has 2 fields but the header has 3 \(delimiter comma\)",
        ),
        (b"a,b,label\n1,2,x\n3,4,y,5,6\n", r"bad\.csv: line 3 has 5 fields but the header has 3"),
        (
            b"PK\x03\x04\x00\x00garbage\x00\xff\xfe",
            r"bad\.csv: is a binary file, not a text table \(it contains NUL bytes\)",
        ),
        (
            bytes(range(1, 32)) * 40,
            r"bad\.csv: is a binary file, not a text table \(it is full of control bytes\)",
        ),
        (b"only\n1\n2\n3\n", r"bad\.csv: has only one column \('only'\)"),
        (b"a,label\n,x\n,y\n", r"bad\.csv: no usable feature columns"),
        (b"a,b,label\n1,2,\n3,4,\n", r"bad\.csv: the target column 'label' has no values"),
    ],
)
def test_bad_tables_raise_one_line_data_errors(
    tmp_path: Path, content: bytes, message: str
) -> None:
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(DataError, match=message) as e:
        open_dataset(p)
    assert "\n" not in str(e.value)


def test_random_binary_garbage_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "noise.csv"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match="noise.csv: is a binary file"):
        TableSource.scan(p)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=300)
    | st.text(alphabet=st.sampled_from('ab1,;\t\n"x.5 -'), max_size=300).map(str.encode)
)
def test_any_bytes_give_a_table_or_a_data_error(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "fuzz.csv"
    p.write_bytes(data)
    try:
        src = TableSource.scan(p)
    except DataError as e:
        assert str(e).startswith("fuzz.csv: ") and "\n" not in str(e)
        return
    json.dumps(src.info().to_json())
    if not any(pr.severity == "error" for pr in src.info().problems):
        try:
            src.prepare(DataSettings(val_ratio=0.0, test_ratio=0.0))
        except DataError:
            pass


# --- dispatch and Parquet ------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".txt"])
def test_open_dataset_dispatches_tables(tmp_path: Path, suffix: str) -> None:
    text = mixed_table(40).replace(",", "\t") if suffix == ".tsv" else mixed_table(40)
    src = open_dataset(write(tmp_path, "t" + suffix, text), target="colour")
    assert isinstance(src, TableSource) and src.target == "colour"


def test_parquet_without_pyarrow_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    p = tmp_path / "t.parquet"
    p.write_bytes(b"PAR1")
    with pytest.raises(
        DataError, match=r"t\.parquet: reading Parquet needs pyarrow: pip install pyarrow"
    ):
        open_dataset(p)


def test_parquet_tables(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    n = 90
    t = pa.table(
        {
            "id": list(range(n)),
            "x": [None if i % 30 == 0 else float(i % 7) for i in range(n)],
            "kind": [["p", "q", None][i % 3] for i in range(n)],
            "flag": [bool(i % 2) for i in range(n)],
            "label": [["cat", "dog"][i % 2] for i in range(n)],
        }
    )
    p = tmp_path / "t.parquet"
    pq.write_table(t, p)
    src = open_dataset(p)
    assert isinstance(src, TableSource)
    types = {s.name: s.type for s in src.column_summaries}
    assert types == {
        "id": "id",
        "x": "numeric",
        "kind": "categorical",
        "flag": "numeric",
        "label": "target",
    }
    assert src.classes == ["cat", "dog"] and "column 'x': 3 missing value(s)" in problems_text(src)
    prep = src.prepare(DataSettings())
    assert prep.input_shape == (4,)
    np.testing.assert_allclose(
        encode_file(p, prep.preprocessing)[src._rows[prep.split.train]],
        prep.train.x.numpy(),
        rtol=1e-6,
    )
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"bad\.parquet: not a readable Parquet file"):
        open_dataset(bad)


def test_read_table_columns_are_arrays(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "t.csv", mixed_table(30)))
    height = table.column("HEIGHT")
    assert height is not None and height.floats.dtype == np.float64 and height.numeric
    colour = table.column("colour")
    assert colour is not None and not colour.numeric
    codes, levels = colour.codes()
    assert codes.dtype == np.int32 and sorted(set(levels)) == ["blue", "green", "red"]


def src_classification_preprocessing(path: Path) -> dict:
    return (
        TableSource.scan(path, target="few_ints")
        .prepare(DataSettings(target="few_ints"))
        .preprocessing
    )


# --- non-finite and overflowing numbers ------------------------------------------------------


def _numbers_table(
    tmp_path: Path, name: str, cells: dict[tuple[int, str], str], target: str = "class"
) -> Path:
    """60 rows of a, b, c and a target (a class, or a number for regression); ``cells`` overrides
    ``(row, column)`` cells. Row i is on line i + 2."""
    rng = np.random.default_rng(4)
    lines = ["a,b,c,y"]
    for i in range(60):
        a, b, c = rng.normal(size=3)
        row = {
            "a": f"{a:.4f}",
            "b": f"{b:.4f}",
            "c": f"{c:.4f}",
            "y": ("x" if a + c > 0 else "z") if target == "class" else f"{2 * a + b:.4f}",
        }
        for (r, col), text in cells.items():
            if r == i:
                row[col] = text
        lines.append(",".join(row[k] for k in ("a", "b", "c", "y")))
    return write(tmp_path, name, "\n".join(lines) + "\n")


@contextlib.contextmanager
def _no_numpy_warnings() -> Iterator[None]:
    """numpy's overflow warnings (RuntimeWarning) fail the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def test_values_whose_squares_overflow_are_a_data_error_naming_column_and_line(
    tmp_path: Path,
) -> None:
    # 1e308 fits a float64, but standardizing the column squares it: inf, then NaN losses
    p = _numbers_table(tmp_path, "big.csv", {(7, "a"): "1e308", (30, "a"): "-3e200"})
    with _no_numpy_warnings():
        src = TableSource.scan(p)
        errors = [e for e in src.info().problems if e.severity == "error"]
        assert len(errors) == 1 and errors[0].item == "column 'a'", problems_text(src)
        assert (
            "2 value(s) too large to standardize (line 9: 1e+308, line 32: -3e+200)"
            in errors[0].reason
        )
        with pytest.raises(
            DataError,
            match=r"big\.csv: column 'a': 2 value\(s\) too large to standardize \(line 9: 1e\+308",
        ):
            src.prepare(DataSettings())


def test_infinite_cells_are_named_non_finite_with_their_lines(tmp_path: Path) -> None:
    p = _numbers_table(
        tmp_path, "inf.csv", {(20, "b"): "inf", (21, "b"): "-Infinity", (5, "c"): "oops"}
    )
    with _no_numpy_warnings():
        src = TableSource.scan(p)
        text = problems_text(src)
        assert (
            "warning column 'b': 2 non-finite value(s) (line 22: 'inf', line 23: '-Infinity'); treated as missing"
            in text
        )
        assert (
            "warning column 'c': 1 non-numeric cell(s) in a numeric column (line 7: 'oops'); treated as missing"
            in text
        )
        prep = src.prepare(DataSettings())
    assert np.isfinite(prep.train.x.numpy()).all()


def test_an_overflowing_regression_target_is_a_data_error(tmp_path: Path) -> None:
    # the targets are standardized too (and kept as float32): 1e308 overflows them
    p = _numbers_table(
        tmp_path, "bigy.csv", {(11, "y"): "1e308", (40, "y"): "inf"}, target="number"
    )
    with _no_numpy_warnings():
        src = TableSource.scan(p, target="y")
        assert src.task == "regression"
        errors = [e for e in src.info().problems if e.severity == "error"]
        assert len(errors) == 1 and errors[0].item == "column 'y'", problems_text(src)
        assert (
            "the target has 1 value(s) too large to train on (line 13: 1e+308)" in errors[0].reason
        )
        assert (
            "1 non-finite value(s) in the numeric target (line 42: 'inf'); those rows are left out"
            in problems_text(src)
        )
        with pytest.raises(
            DataError, match=r"bigy\.csv: column 'y': the target has 1 value\(s\) too large"
        ):
            src.prepare(DataSettings(target="y"))
