"""Arrays: .npz and .npy pairs in every layout, labels of every kind, bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.data import open_dataset
from workbench.data.arrays import ArraySource, encode_x
from workbench.data.base import DataCancelled, DataError, DataSettings

RNG = np.random.default_rng(0)


def npz(tmp_path: Path, name: str = "d.npz", **arrays: Any) -> Path:
    p = tmp_path / name
    np.savez(p, **arrays)
    return p


def labels(n: int, k: int = 3) -> np.ndarray:
    return np.arange(n) % k


def problems_text(src: ArraySource) -> str:
    return "\n".join(f"{p.severity} {p.item}: {p.reason}" for p in src.info().problems)


# --- layouts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "layout", "shape", "dtype"),
    [
        (RNG.normal(size=(60, 5)), "features", (5,), "float32"),
        (RNG.normal(size=60), "features", (1,), "float32"),
        (RNG.integers(0, 256, (60, 16), dtype=np.uint8), "features", (16,), "float32"),
        (
            RNG.integers(-5, 5, (60, 4)),
            "features",
            (4,),
            "float32",
        ),  # negative ints are not token ids
        (RNG.integers(0, 30, (60, 12)), "tokens", (12,), "int64"),
        (RNG.integers(0, 30, (60, 12)).astype(np.int32), "tokens", (12,), "int64"),
        (RNG.normal(size=(60, 10, 2)).astype(np.float32), "sequences", (10, 2), "float32"),
        (RNG.integers(0, 256, (60, 8, 6), dtype=np.uint8), "images", (1, 8, 6), "float32"),
        (RNG.random((60, 3, 8, 6)).astype(np.float32), "images", (3, 8, 6), "float32"),
        (RNG.integers(0, 256, (60, 8, 6, 3), dtype=np.uint8), "images", (3, 8, 6), "float32"),
        (RNG.integers(0, 256, (60, 8, 6, 1), dtype=np.uint8), "images", (1, 8, 6), "float32"),
    ],
    ids=[
        "features",
        "1d",
        "uint8-2d",
        "negative-ints",
        "tokens",
        "tokens-int32",
        "sequences",
        "gray-3d",
        "nchw",
        "nhwc",
        "nhw1",
    ],
)
def test_layouts(
    tmp_path: Path, x: np.ndarray, layout: str, shape: tuple[int, ...], dtype: str
) -> None:
    src = ArraySource.scan(npz(tmp_path, x=x, y=labels(60)))
    info = src.info()
    assert src.layout == layout and info.sample_shape == shape and info.dtype == dtype
    assert info.kind == "arrays" and info.num_samples == 60 and info.classes == ["0", "1", "2"]
    assert info.class_counts == {"0": 20, "1": 20, "2": 20}
    json.dumps(info.to_json())
    prep = src.prepare(DataSettings())
    assert prep.input_shape == shape and prep.input_dtype == dtype
    assert tuple(prep.train.x.shape[1:]) == shape and str(prep.train.x.dtype) == f"torch.{dtype}"
    assert src.input_spec(DataSettings()) == (shape, dtype)
    if layout == "tokens":
        assert info.details["vocab_size"] == int(x.max()) + 1 == prep.preprocessing["vocab_size"]
    if x.ndim == 4 and x.shape[-1] in (1, 3):
        assert info.details["channels_last"] and any(
            "transposed to (N, C, H, W)" in n for n in prep.notes
        )
        np.testing.assert_allclose(  # the transpose and the uint8 scaling, before normalization
            encode_x(x[:2], {**prep.preprocessing, "mean": None}),
            np.moveaxis(x[:2], -1, 1) / 255,
            rtol=1e-6,
        )
    # whatever the layout, new samples in the file's layout encode like the training ones
    rows = prep.split.train[:4]
    np.testing.assert_allclose(
        encode_x(x[rows], prep.preprocessing), prep.train.x[:4].numpy(), rtol=1e-5, atol=1e-6
    )


def test_normalization_uses_training_statistics_only(tmp_path: Path) -> None:
    x = RNG.normal(5.0, 3.0, size=(300, 4))
    x[:100] += 100.0  # the first third differs, so any leak of val/test rows shows
    src = ArraySource.scan(npz(tmp_path, x=x, y=labels(300, 2)))
    prep = src.prepare(DataSettings(seed=1))
    train = x[prep.split.train]
    np.testing.assert_allclose(prep.preprocessing["mean"], train.mean(0))
    np.testing.assert_allclose(prep.preprocessing["std"], train.std(0))
    np.testing.assert_allclose(
        prep.test.x.numpy(), (x[prep.split.test] - train.mean(0)) / train.std(0), rtol=1e-5
    )
    raw = src.prepare(DataSettings(normalize=False))
    np.testing.assert_allclose(raw.train.x.numpy(), x[raw.split.train], rtol=1e-6)


def test_images_are_normalized_per_channel(tmp_path: Path) -> None:
    x = RNG.integers(0, 256, (40, 3, 4, 4), dtype=np.uint8)
    prep = ArraySource.scan(npz(tmp_path, x=x, y=labels(40, 2))).prepare(DataSettings())
    assert len(prep.preprocessing["mean"]) == 3 and prep.preprocessing["scale"] == pytest.approx(
        1 / 255
    )
    t = prep.train.x.numpy()
    np.testing.assert_allclose(t.mean(axis=(0, 2, 3)), 0, atol=1e-5)


@pytest.mark.parametrize("seq_len", [6, 10, 15])
def test_sequences_pad_at_the_start_or_keep_the_last_steps(tmp_path: Path, seq_len: int) -> None:
    tokens = RNG.integers(1, 9, (30, 10))
    src = ArraySource.scan(npz(tmp_path, x=tokens, y=labels(30, 2)))
    s = DataSettings(seq_len=seq_len)
    prep = src.prepare(s)
    assert prep.input_shape == (seq_len,) == src.input_spec(s)[0]
    first = tokens[prep.split.train[0]]
    got = prep.train.x[0].numpy()
    if seq_len <= 10:
        np.testing.assert_array_equal(got, first[10 - seq_len :])
    else:
        np.testing.assert_array_equal(
            got, np.concatenate([np.zeros(seq_len - 10, np.int64), first])
        )
        assert any("padded at the start from 10 to 15 steps with token 0" in n for n in prep.notes)
    floats = RNG.normal(3.0, 1.0, (30, 10, 2)).astype(np.float32)
    fsrc = ArraySource.scan(npz(tmp_path, "f.npz", x=floats, y=RNG.normal(size=30)))
    fprep = fsrc.prepare(s)
    assert fprep.input_shape == (seq_len, 2) and fsrc.info().details["sequence"]
    if seq_len > 10:  # padding comes after normalization: padded steps are exactly zero
        assert (fprep.train.x[:, : seq_len - 10].numpy() == 0).all()


def test_keras_style_archives_give_their_splits(tmp_path: Path) -> None:
    p = npz(
        tmp_path,
        x_train=RNG.normal(size=(80, 3)),
        y_train=labels(80, 2),
        x_test=RNG.normal(size=(20, 3)),
        y_test=labels(20, 2),
    )
    src = ArraySource.scan(p)
    info = src.info()
    assert info.splits_given and info.num_samples == 100
    split = src.split(DataSettings(val_ratio=0.25))
    np.testing.assert_array_equal(split.test, np.arange(80, 100))
    assert len(split.val) == 20 and len(split.train) == 60


# --- labels --------------------------------------------------------------------------


def test_label_kinds(tmp_path: Path) -> None:
    x = RNG.normal(size=(40, 2))
    cases: list[tuple[dict[str, Any], str, list[str] | None, int]] = [
        (
            {"y": labels(40, 2), "classes": np.array(["cat", "dog"])},
            "classification",
            ["cat", "dog"],
            1,
        ),
        ({"y": np.array(["b", "a", "c", "a"] * 10)}, "classification", ["a", "b", "c"], 1),
        ({"y": np.arange(40) % 3 + 1}, "classification", ["1", "2", "3"], 1),
        ({"y": (np.arange(40) % 2).astype(bool)}, "classification", ["0", "1"], 1),
        ({"y": (np.arange(40) % 4).astype(np.float64)}, "classification", ["0", "1", "2", "3"], 1),
        ({"y": np.eye(3)[np.arange(40) % 3]}, "classification", ["0", "1", "2"], 1),
        ({"y": RNG.normal(size=40)}, "regression", None, 1),
        ({"y": RNG.normal(size=(40, 1))}, "regression", None, 1),
        ({"y": RNG.normal(size=(40, 3))}, "regression", None, 3),
    ]
    for i, (arrays, task, classes, k) in enumerate(cases):
        src = ArraySource.scan(npz(tmp_path, f"c{i}.npz", x=x, **arrays))
        info = src.info()
        assert (info.task, info.classes, info.num_targets) == (task, classes, k), arrays
        prep = src.prepare(DataSettings())
        if task == "regression":
            assert (
                tuple(prep.train.y.shape) == (len(prep.train), k)
                and str(prep.train.y.dtype) == "torch.float32"
            )
        else:
            assert prep.train.y.ndim == 1 and str(prep.train.y.dtype) == "torch.int64"
            assert int(prep.train.y.max()) < len(classes or [])


def test_class_names_that_do_not_fit_are_reported(tmp_path: Path) -> None:
    src = ArraySource.scan(
        npz(tmp_path, x=RNG.normal(size=(30, 2)), y=labels(30, 3), classes=np.array(["a", "b"]))
    )
    assert src.classes == [
        "0",
        "1",
        "2",
    ] and "2 class names but the labels go from 0 to 2" in problems_text(src)


def test_single_class_imbalance_and_empty_classes(tmp_path: Path) -> None:
    x = RNG.normal(size=(40, 2))
    one = ArraySource.scan(npz(tmp_path, "one.npz", x=x, y=np.zeros(40, int)))
    assert [p.severity for p in one.info().problems] == ["error"]
    with pytest.raises(DataError, match="one.npz: y: a single class"):
        one.prepare(DataSettings())
    y = np.array([0] * 36 + [2] * 4)
    skewed = ArraySource.scan(
        npz(tmp_path, "skew.npz", x=x, y=y, classes=np.array(["a", "b", "c"]))
    )
    text = problems_text(skewed)
    assert (
        "1 class(es) have no samples: 'b'" in text
        and "classes are imbalanced: 'a' has 36 samples, 'c' only 4" in text
    )


def test_nan_and_inf_samples_are_left_out(tmp_path: Path) -> None:
    x = RNG.normal(size=(50, 3))
    x[3, 1] = np.nan
    x[7, 0] = np.inf
    y = RNG.normal(size=50)
    y[10] = np.nan
    src = ArraySource.scan(npz(tmp_path, x=x, y=y))
    info = src.info()
    assert info.num_samples == 47 and info.task == "regression"
    text = problems_text(src)
    assert "2 sample(s) hold NaN or infinite values (index 3, 7); they are left out" in text
    assert "1 sample(s) have a NaN or infinite target (index 10); they are left out" in text
    prep = src.prepare(DataSettings())
    assert sum(prep.split.sizes().values()) == 47 and np.isfinite(prep.train.x.numpy()).all()


def test_huge_token_ids_are_warned(tmp_path: Path) -> None:
    x = RNG.integers(0, 10, (20, 5))
    x[0, 0] = 5_000_000
    src = ArraySource.scan(npz(tmp_path, x=x, y=labels(20, 2)))
    assert src.vocab_size == 5_000_001 and "an Embedding that large" in problems_text(src)


# --- files ---------------------------------------------------------------------------


def test_npz_key_fallbacks(tmp_path: Path) -> None:
    named = ArraySource.scan(
        npz(tmp_path, "a.npz", features=RNG.normal(size=(20, 2)), labels=labels(20, 2))
    )
    assert named.info().num_samples == 20
    anon = ArraySource.scan(
        npz(tmp_path, "b.npz", first=RNG.normal(size=(20, 2)), second=labels(20, 2))
    )
    assert any("'first' is read as x and 'second' as y" in n for n in anon.notes)
    only_y_named = ArraySource.scan(
        npz(tmp_path, "c.npz", pixels=RNG.normal(size=(20, 2)), y=labels(20, 2))
    )
    assert only_y_named.info().sample_shape == (2,)


@pytest.mark.parametrize(
    ("xname", "yname"),
    [("foo_x.npy", "foo_y.npy"), ("x.npy", "y.npy"), ("Data-X.npy", "Data-Y.npy")],
)
def test_npy_pairs_given_either_file(tmp_path: Path, xname: str, yname: str) -> None:
    x = RNG.normal(size=(30, 4)).astype(np.float32)
    np.save(tmp_path / xname, x)
    np.save(tmp_path / yname, labels(30))
    for given_name in (xname, yname):
        src = open_dataset(tmp_path / given_name)
        assert (
            isinstance(src, ArraySource)
            and src.info().sample_shape == (4,)
            and src.classes == ["0", "1", "2"]
        )


def test_npy_pair_with_class_names(tmp_path: Path) -> None:
    np.save(tmp_path / "d_x.npy", RNG.normal(size=(10, 2)))
    np.save(tmp_path / "d_y.npy", labels(10, 2))
    np.save(tmp_path / "d_classes.npy", np.array(["no", "yes"]))
    assert ArraySource.scan(tmp_path / "d_x.npy").classes == ["no", "yes"]


def _zip_with(path: Path, member: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), r"d\.npz: the file is empty"),
        (
            lambda p: p.write_bytes(b"this is not a zip file at all"),
            r"d\.npz: is not an \.npz file",
        ),
        (
            lambda p: p.write_bytes(b"PK\x03\x04garbage garbage"),
            r"d\.npz: is not a readable \.npz file",
        ),
        (
            lambda p: _zip_with(p, "notes.txt", b"hello"),
            r"d\.npz: needs two arrays, x and y \(it holds only 'notes.txt'\)",
        ),
        (lambda p: _two_texts(p), r"d\.npz: member 'a.txt' is not a NumPy array"),
        (lambda p: np.savez(p), r"d\.npz: holds no arrays"),
        (lambda p: np.savez(p, x=np.zeros((5, 2))), r"d\.npz: has x \('x'\) but no y"),
        (
            lambda p: np.savez(p, x=np.zeros((5, 2)), y=np.zeros(4)),
            r"d\.npz: x has 5 samples but y has 4",
        ),
        (
            lambda p: np.savez(p, x=np.zeros((0, 2)), y=np.zeros(0)),
            r"d\.npz: x is empty \(no samples\)",
        ),
        (
            lambda p: np.savez(p, x=np.zeros((3, 0)), y=np.zeros(3)),
            r"d\.npz: x has shape \(3, 0\): no values per sample",
        ),
        (
            lambda p: np.savez(p, x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2)),
            r"d\.npz: array 'x' holds Python objects; object arrays are refused",
        ),
        (
            lambda p: np.savez(p, x=np.array(["a", "b"]), y=np.zeros(2)),
            r"d\.npz: x holds text, not real numbers",
        ),
        (
            lambda p: np.savez(p, x=np.zeros((2, 1, 1, 1, 1)), y=np.zeros(2)),
            r"d\.npz: x has 5 axes",
        ),
        (
            lambda p: np.savez(p, x=np.zeros((2, 2)), y=np.zeros((2, 2, 2))),
            r"d\.npz: y has shape \(2, 2, 2\)",
        ),
        (
            lambda p: np.savez(p, x=np.full((3, 2), np.nan), y=np.zeros(3)),
            r"d\.npz: every sample holds NaN or infinite values",
        ),
        (
            lambda p: np.savez(p, x=np.zeros((2, 2)), y=np.float64(1)),
            r"d\.npz: y is a single value",
        ),
    ],
    ids=[
        "empty",
        "not-zip",
        "bad-zip",
        "zip-of-text",
        "zip-of-two-texts",
        "no-arrays",
        "missing-y",
        "lengths",
        "empty-x",
        "no-features",
        "object",
        "text-x",
        "five-axes",
        "y-3d",
        "all-nan",
        "scalar-y",
    ],
)
def test_bad_npz_raise_one_line_data_errors(tmp_path: Path, make: Any, message: str) -> None:
    p = tmp_path / "d.npz"
    make(p)
    with pytest.raises(DataError, match=message) as e:
        open_dataset(p)
    assert "\n" not in str(e.value)


def _two_texts(p: Path) -> bool:
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.txt", b"1")
        z.writestr("b.txt", b"2")
    return True


def test_truncated_npz_is_a_data_error(tmp_path: Path) -> None:
    p = npz(tmp_path, x=RNG.normal(size=(500, 8)), y=labels(500))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"d\.npz: is not a readable \.npz file"):
        open_dataset(p)


@pytest.mark.parametrize(
    ("files", "given_name", "message"),
    [
        (
            {"foo_x.npy": np.zeros((3, 2))},
            "foo_x.npy",
            r"foo_x\.npy: its partner foo_y\.npy is missing",
        ),
        ({"data.npy": np.zeros((3, 2))}, "data.npy", r"data\.npy: a \.npy file needs a partner"),
        ({"foox.npy": np.zeros((3, 2))}, "foox.npy", r"foox\.npy: a \.npy file needs a partner"),
        (
            {"x.npy": np.zeros((3, 2)), "y.npy": np.zeros(2)},
            "y.npy",
            r"y\.npy: x has 3 samples but y has 2",
        ),
        ({"x.npy": b"garbage", "y.npy": np.zeros(2)}, "x.npy", r"x\.npy: is not a \.npy file"),
        ({"x.npy": b"", "y.npy": np.zeros(2)}, "y.npy", r"x\.npy: the file is empty"),
        (
            {"x.npy": np.array([None, 1], dtype=object), "y.npy": np.zeros(2)},
            "x.npy",
            r"x\.npy: the array holds Python objects",
        ),
    ],
)
def test_bad_npy_pairs(
    tmp_path: Path, files: dict[str, Any], given_name: str, message: str
) -> None:
    for name, content in files.items():
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            np.save(tmp_path / name, content, allow_pickle=True)
    with pytest.raises(DataError, match=message):
        open_dataset(tmp_path / given_name)


def test_truncated_npy_is_a_data_error(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((100, 10)))
    np.save(tmp_path / "y.npy", np.zeros(100))
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(data[:300])
    with pytest.raises(DataError, match=r"x\.npy: the array cannot be read"):
        open_dataset(tmp_path / "x.npy")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=400), prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00"])
)
def test_any_bytes_give_arrays_or_a_data_error(tmp_path: Path, data: bytes, prefix: bytes) -> None:
    for name in ("f.npz", "f_x.npy"):
        p = tmp_path / name
        p.write_bytes(prefix + data)
        np.save(tmp_path / "f_y.npy", np.zeros(2))
        try:
            ArraySource.scan(p)
        except DataError as e:
            assert "\n" not in str(e)


# --- the rest ------------------------------------------------------------------------


def test_split_is_reproducible_and_stratified(tmp_path: Path) -> None:
    src = ArraySource.scan(npz(tmp_path, x=RNG.normal(size=(200, 3)), y=labels(200, 4)))
    a, b = src.prepare(DataSettings(seed=5)), src.prepare(DataSettings(seed=5))
    np.testing.assert_array_equal(a.split.val, b.split.val)
    assert (a.train.x == b.train.x).all()
    assert not np.array_equal(a.split.val, src.prepare(DataSettings(seed=6)).split.val)
    assert np.bincount(a.train.y.numpy()).tolist() == [34, 34, 34, 34]  # 50 each, less 8 + 8


def test_preview_progress_and_cancel(tmp_path: Path) -> None:
    p = npz(tmp_path, x=RNG.integers(0, 9, (12, 20)), y=labels(12, 2), classes=np.array(["n", "p"]))
    seen: list[tuple[int, int]] = []
    src = ArraySource.scan(p, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (2, 2)
    pv = src.preview(3)
    assert pv["x_shape"] == [12, 20] and pv["y_shape"] == [12] and pv["columns"] == ["#", "y", "x"]
    assert pv["rows"][1][:2] == [1, "p"] and pv["rows"][0][2].endswith(", …")
    with pytest.raises(DataCancelled):
        ArraySource.scan(p, cancelled=lambda: True)


@pytest.mark.parametrize("name", ["d.npz", "d_x.npy"])
def test_open_dataset_dispatches_arrays(tmp_path: Path, name: str) -> None:
    if name.endswith(".npz"):
        npz(tmp_path, name, x=RNG.normal(size=(9, 2)), y=labels(9))
    else:
        np.save(tmp_path / "d_x.npy", RNG.normal(size=(9, 2)))
        np.save(tmp_path / "d_y.npy", labels(9))
    assert isinstance(open_dataset(tmp_path / name), ArraySource)


@pytest.mark.parametrize("ext", [".npz", ".npy"])
def test_values_that_overflow_float32_are_a_data_error_naming_the_samples(
    tmp_path: Path, ext: str
) -> None:
    import warnings

    x = RNG.normal(size=(50, 3))
    x[7, 1] = 1e308  # fits a float64; as float32 (what the model is fed) it is inf
    x[12, 0] = -5e39
    y = labels(50)
    if ext == ".npz":
        path = npz(tmp_path, x=x, y=y)
    else:
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "y.npy", y)
        path = tmp_path / "x.npy"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        src = ArraySource.scan(path)
        errors = [p for p in src.info().problems if p.severity == "error"]
        assert len(errors) == 1 and errors[0].item == "x", problems_text(src)
        assert (
            "2 sample(s) hold values too large for float32 (index 7: 1e+308, index 12: -5e+39)"
            in errors[0].reason
        )
        with pytest.raises(
            DataError, match=r"x: 2 sample\(s\) hold values too large for float32 \(index 7"
        ):
            src.prepare(DataSettings())


def test_a_regression_target_that_overflows_is_a_data_error(tmp_path: Path) -> None:
    import warnings

    x = RNG.normal(size=(50, 3))
    y = RNG.normal(size=50)
    y[4] = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        src = ArraySource.scan(npz(tmp_path, x=x, y=y))
        assert src.task == "regression"
        errors = [p for p in src.info().problems if p.severity == "error"]
        assert len(errors) == 1 and errors[0].item == "y", problems_text(src)
        assert (
            "1 sample(s) have targets too large to train on (index 4: 1e+308)" in errors[0].reason
        )
        with pytest.raises(DataError, match=r"d\.npz: y: 1 sample\(s\) have targets too large"):
            src.prepare(DataSettings())
