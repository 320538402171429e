"""Image datasets: scanning and checks, splits, decoding, in-memory and streaming preparation."""

from __future__ import annotations

import io
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import zlib
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.data.image_fixtures import image_folder, make_image, save, truncate
from workbench.data import open_dataset
from workbench.data.base import Augment, DataCancelled, DataError, DataSettings, Problem
from workbench.data.image_pipeline import (
    ByteLRUCache,
    ImageDecoder,
    ImageTensorData,
    StreamData,
    augment_batch,
    decode_image,
    preprocess_image,
)
from workbench.data.images import (
    HEAD_BYTES,
    MAX_DUPLICATE_PROBLEMS,
    ImageFolderSource,
    ImageIndexSource,
    ImageSource,
    check_image_file,
    is_image_index,
    suggested_size,
)
from workbench.data.prepared import Batch

# ----------------------------------------------------------------------------- helpers


def collect(data: object, batch_size: int = 7, **kw: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate every batch of a split."""
    xs, ys = [], []
    for xb, yb in data.iter_batches(batch_size, **kw):  # type: ignore[attr-defined]
        xs.append(xb)
        ys.append(yb)
    return torch.cat(xs), torch.cat(ys)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            st = os.stat(os.path.join(dirpath, f))
            out[os.path.join(dirpath, f)] = (st.st_size, st.st_mtime_ns)
    return out


def reasons(source: ImageFolderSource | ImageIndexSource) -> dict[str, str]:
    return {p.item: p.reason for p in source.info().problems}


@pytest.fixture
def three_classes(tmp_path: Path) -> Path:
    return image_folder(tmp_path / "shapes", {"circle": 12, "square": 10, "star": 9}, size=(12, 10))


# ----------------------------------------------------------------------------- formats and modes

CASES = [
    ("PNG", ".png", "L"),
    ("PNG", ".png", "RGB"),
    ("PNG", ".png", "RGBA"),
    ("PNG", ".png", "LA"),
    ("PNG", ".png", "P"),
    ("PNG", ".png", "1"),
    ("PNG", ".png", "I;16"),
    ("JPEG", ".jpg", "L"),
    ("JPEG", ".jpeg", "RGB"),
    ("BMP", ".bmp", "L"),
    ("BMP", ".bmp", "RGB"),
    ("BMP", ".bmp", "P"),
    ("GIF", ".gif", "P"),
    ("GIF", ".gif", "L"),
    ("TIFF", ".tif", "RGB"),
    ("TIFF", ".tiff", "RGBA"),
    ("TIFF", ".tif", "L"),
    ("WEBP", ".webp", "RGB"),
    ("WEBP", ".webp", "RGBA"),
]


@pytest.mark.parametrize(("fmt", "suffix", "mode"), CASES)
def test_every_format_and_mode_is_checked_and_decoded(
    tmp_path: Path, fmt: str, suffix: str, mode: str
) -> None:
    path = save(make_image(mode, (12, 10), value=30), tmp_path / f"img{suffix}", fmt)
    check = check_image_file(str(path))
    assert check.error is None, check.error
    assert (check.width, check.height) == (12, 10)
    assert check.fmt == fmt
    assert check.digest is not None
    with Image.open(path) as im:
        pil_mode = im.mode
    if fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        assert check.mode == pil_mode or (check.mode, pil_mode) in {("I;16", "I"), ("I;16", "I;16")}
    for color, channels in (("rgb", 3), ("grayscale", 1)):
        a = decode_image(str(path), (8, 6), color)  # type: ignore[arg-type]
        assert a.shape == (channels, 8, 6) and a.dtype == np.uint8


def test_a_mixed_folder_of_every_format_scans_and_prepares(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    for k, (fmt, suffix, mode) in enumerate(CASES):
        for cls in ("a", "b"):
            save(
                make_image(mode, (12, 10), value=k * 7 + (cls == "b") * 100, seed=k),
                root / cls / f"{k}{suffix}",
                fmt,
            )
    src = ImageFolderSource.scan(root)
    info = src.info()
    assert info.num_samples == 2 * len(CASES) and info.problems == []
    assert set(info.details["formats"]) == {"PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"}
    assert info.details["sizes"] == {"12x10": 2 * len(CASES)}
    assert info.sample_shape == (3, 32, 32)
    prepared = src.prepare(DataSettings(image_size=(16, 16), val_ratio=0.2, test_ratio=0.2))
    x, y = collect(prepared.train)
    assert x.shape[1:] == (3, 16, 16) and x.dtype == torch.float32 and torch.isfinite(x).all()
    assert prepared.input_shape == (3, 16, 16) and prepared.classes == ["a", "b"]


def test_alpha_is_composited_on_white_and_16_bit_is_scaled(tmp_path: Path) -> None:
    rgba = save(make_image("RGBA", (8, 8)), tmp_path / "a.png")  # top half fully transparent
    a = decode_image(str(rgba), (8, 8), "rgb")
    assert (a[:, :4] == 255).all() and (a[:, 4:] < 255).any()
    la = Image.fromarray(
        np.stack([np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)], -1), "LA"
    )
    assert (decode_image(str(save(la, tmp_path / "la.png")), (4, 4), "grayscale") == 255).all()
    i16 = Image.fromarray(np.full((4, 4), 100 * 257, np.uint16))
    assert (decode_image(str(save(i16, tmp_path / "i16.png")), (4, 4), "grayscale") == 100).all()
    gray = decode_image(
        str(save(make_image("RGB", (4, 4)), tmp_path / "rgb.png")), (4, 4), "grayscale"
    )
    assert gray.shape == (1, 4, 4)


def test_unusual_files_are_read(tmp_path: Path) -> None:
    rgb = make_image("RGB", (40, 30))
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgb.save(tmp_path / "progressive.jpg", progressive=True)
    rgb.save(
        tmp_path / "big_header.jpg", icc_profile=b"x" * (HEAD_BYTES + 1000)
    )  # frame header beyond the first read
    rgb.quantize(8).save(tmp_path / "transparent_palette.png", transparency=0)
    rgb.save(tmp_path / "pages.tif", save_all=True, append_images=[rgb.convert("L")])
    rgb.convert("1").save(tmp_path / "one_bit.bmp")
    for path in sorted(tmp_path.iterdir()):
        check = check_image_file(str(path))
        assert check.error is None and (check.width, check.height) == (40, 30), path.name
        assert decode_image(str(path), (8, 8), "rgb").shape == (3, 8, 8)
    cut = truncate(tmp_path / "big_header.jpg", 0.995)
    assert (check_image_file(str(cut)).error or "").startswith("truncated JPEG")


def test_gif_first_frame_is_used(tmp_path: Path) -> None:
    frames = [Image.new("L", (6, 6), 10), Image.new("L", (6, 6), 240)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    a = decode_image(str(path), (6, 6), "grayscale")
    assert abs(int(a.mean()) - 10) <= 2


# ----------------------------------------------------------------------------- the check


def _encoded(fmt: str) -> bytes:
    buf = io.BytesIO()
    img = make_image("RGB", (20, 16), value=9)
    img.save(buf, fmt)
    return buf.getvalue()


ENCODED = {fmt: _encoded(fmt) for fmt in ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")}


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damage it finds
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fmt=st.sampled_from(sorted(ENCODED)),
    cut=st.floats(0, 1),
    flips=st.lists(st.integers(0, 10**6), max_size=4),
    junk=st.binary(max_size=16),
)
def test_damaged_files_never_crash_the_check_or_the_decoder(
    tmp_path: Path, fmt: str, cut: float, flips: list[int], junk: bytes
) -> None:
    data = bytearray(ENCODED[fmt][: int(len(ENCODED[fmt]) * cut)] + junk)
    for f in flips:
        if data:
            data[f % len(data)] ^= 0xFF
    path = tmp_path / "f.img"
    path.write_bytes(bytes(data))
    check = check_image_file(str(path))
    assert check.error is None or isinstance(check.error, str)
    if check.error is None:
        try:
            decode_image(str(path), (8, 8), "rgb")
        except Exception:  # noqa: BLE001 - the pipeline reports these; only a crash would fail
            pass


def test_info_counts_sizes_modes_and_suggestions(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 5, "b": 6}, size=(200, 100), mode="L")
    src = ImageFolderSource.scan(root)
    info = src.info()
    assert info.kind == "images" and info.task == "classification"
    assert (
        info.classes == ["a", "b"]
        and info.class_counts == {"a": 5, "b": 6}
        and info.num_samples == 11
    )
    assert info.sample_shape == (1, 32, 32)  # all grayscale
    assert info.details["sizes"] == {"200x100": 11} and info.details["modes"] == {"L": 11}
    assert (
        info.details["suggested_size"] == [32, 64]
        and info.details["suggested_color"] == "grayscale"
    )
    assert suggested_size(28, 28) == (28, 28) and suggested_size(640, 480) == (48, 64)
    js = json.loads(json.dumps(info.to_json()))
    assert js["num_classes"] == 2 and js["classes"] == {"a": 5, "b": 6} and js["problems"] == []
    preview = src.preview(4)["items"]
    assert (
        len(preview) == 4
        and {c for _, c in preview} == {"a", "b"}
        and all(os.path.isfile(p) for p, _ in preview)
    )


def test_imbalance_is_a_warning(tmp_path: Path) -> None:
    src = ImageFolderSource.scan(image_folder(tmp_path / "d", {"big": 13, "small": 4}))
    (p,) = src.info().problems
    assert p.severity == "warning" and "imbalanced" in p.reason and "'big'" in p.reason


def test_bad_files_are_listed_and_skipped(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"cat": 6, "dog": 6}, size=(40, 30))
    (root / "cat" / "empty.png").write_bytes(b"")
    (root / "cat" / "text.png").write_text("this is not an image\n")
    truncate(save(make_image("RGB", (40, 30)), root / "dog" / "cut.png"))
    truncate(save(make_image("RGB", (40, 30)), root / "dog" / "cut.jpg"), 0.7)
    bmp = save(make_image("RGB", (40, 30)), root / "dog" / "cut.bmp")
    bmp.write_bytes(bmp.read_bytes()[:-100])
    (root / "dog" / "garbage.jpg").write_bytes(
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(40))
    )
    (root / "dog" / "notes.txt").write_text("ignored")
    before = snapshot(root)
    src = ImageFolderSource.scan(root)
    info = src.info()
    r = reasons(src)
    assert info.num_samples == 12 and info.class_counts == {"cat": 6, "dog": 6}
    assert r["cat/empty.png"] == "empty file (0 bytes)"
    assert r["cat/text.png"].startswith("not an image")
    assert r["dog/cut.png"].startswith("truncated PNG")
    assert r["dog/cut.jpg"].startswith("truncated JPEG")
    assert r["dog/cut.bmp"].startswith("truncated BMP")
    assert r["dog/garbage.jpg"].startswith("corrupt JPEG")
    assert any("not images were skipped" in p.reason for p in info.problems)
    assert info.details["unreadable_files"] == 6
    prepared = src.prepare(DataSettings(val_ratio=0.0, test_ratio=0.0))
    assert len(prepared.train) == 12
    assert snapshot(root) == before  # nothing written over


def corrupt_inside(path: Path) -> Path:
    """Damage a PNG's compressed pixel data, leaving its header and end intact."""
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 8
    for k in range(start, min(start + 40, len(data) - 16)):
        data[k] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("streaming", [False, True])
def test_images_that_fail_to_decode_are_reported_and_skipped(
    tmp_path: Path, streaming: bool
) -> None:
    root = image_folder(tmp_path / "d", {"cat": 5, "dog": 5}, size=(40, 30))
    bad = corrupt_inside(root / "cat" / "cat_002.png")
    assert check_image_file(str(bad)).error is None  # the header is fine: found only when decoding
    src = ImageFolderSource.scan(root)
    assert src.info().num_samples == 10
    prepared = src.prepare(
        DataSettings(val_ratio=0.0, test_ratio=0.0),
        memory_budget=0 if streaming else None,
        cache_bytes=1 << 20,
    )
    x, y = collect(prepared.train)
    assert len(x) == 9 and torch.isfinite(x).all()
    info = src.info()
    assert info.num_samples == 9 and info.class_counts == {"cat": 4, "dog": 5}
    assert any(
        p.item == "cat/cat_002.png" and "cannot be decoded" in p.reason for p in info.problems
    )
    if not streaming:
        assert len(prepared.train) == 9 and len(prepared.split.train) == 9
        assert any("failed to decode" in n for n in prepared.notes)


def test_a_header_claiming_a_huge_image_is_refused(tmp_path: Path) -> None:
    path = save(make_image("RGB", (12, 10)), tmp_path / "huge.png")
    data = bytearray(path.read_bytes())
    data[16:24] = (50_000).to_bytes(4, "big") * 2
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    assert (check_image_file(str(path)).error or "").startswith("too large: 50000x50000")
    with pytest.raises(
        (ValueError, Image.DecompressionBombError)
    ):  # Pillow refuses first, past twice its limit
        decode_image(str(path), (8, 8), "rgb")


def test_a_folder_without_class_subfolders_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    for i in range(3):
        save(make_image("RGB", seed=i), root / f"{i}.png")
    with pytest.raises(
        DataError,
        match=r"^flat: no class subfolders: put the images of each class in a folder named after the class$",
    ):
        ImageFolderSource.scan(root)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"^empty: the folder is empty"):
        ImageFolderSource.scan(tmp_path / "empty")
    (tmp_path / "nothing" / "a").mkdir(parents=True)
    (tmp_path / "nothing" / "a" / "x.txt").write_text("x")
    with pytest.raises(DataError, match="no images in its class subfolders"):
        ImageFolderSource.scan(tmp_path / "nothing")
    with pytest.raises(DataError, match="not a folder"):
        ImageFolderSource.scan(tmp_path / "missing")


def test_only_unreadable_images_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d" / "a").mkdir(parents=True)
    (tmp_path / "d" / "a" / "x.png").write_bytes(b"")
    with pytest.raises(
        DataError, match=r"none of its 1 images can be read \(for example: empty file"
    ):
        ImageFolderSource.scan(tmp_path / "d")


def test_a_single_class_is_an_error_problem_and_info_is_still_returned(tmp_path: Path) -> None:
    src = ImageFolderSource.scan(image_folder(tmp_path / "one", {"only": 4}))
    info = src.info()
    assert info.num_samples == 4 and info.classes == ["only"]
    errors = [p for p in info.problems if p.severity == "error"]
    assert len(errors) == 1 and "only one class" in errors[0].reason
    with pytest.raises(DataError, match="only one class"):
        src.prepare(DataSettings())


def test_empty_class_folders_are_left_out_with_a_warning(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 3, "b": 3})
    (root / "c").mkdir()
    src = ImageFolderSource.scan(root)
    assert src.classes == ["a", "b"]
    assert "left out" in reasons(src)["c/"]


def test_duplicates_across_given_splits_and_labels(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"cat": 4, "dog": 4}, splits=["train", "val", "test"])
    shutil.copy(root / "train" / "cat" / "cat_000.png", root / "val" / "cat" / "copy.png")
    shutil.copy(root / "train" / "dog" / "dog_001.png", root / "train" / "cat" / "mislabelled.png")
    big = save(
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (160, 160, 3), dtype=np.uint8)),
        root / "train" / "dog" / "big.png",
    )
    assert big.stat().st_size > HEAD_BYTES  # exercises the fingerprint, then the full hash
    shutil.copy(big, root / "test" / "dog" / "big_copy.png")
    info = ImageFolderSource.scan(root).info()
    dup = {p.item: p.reason for p in info.problems if "same content" in p.reason}
    assert "in train and val" in dup["train/cat/cat_000.png"]
    assert "labelled 'cat' and 'dog'" in dup["train/cat/mislabelled.png"]
    assert "in train and test" in dup["train/dog/big.png"]
    assert info.details["duplicates"] == {
        "groups": 3,
        "duplicate_files": 3,
        "across_splits": 2,
        "conflicting_labels": 1,
    }


def test_many_duplicate_groups_are_listed_up_to_a_cap() -> None:
    groups = [[2 * k, 2 * k + 1] for k in range(150)]
    names = [f"f{i}.png" for i in range(300)]
    labels = np.array([0, 1] * 150)  # every pair has conflicting labels
    given = np.array([0, 1] * 150, dtype=np.int8)  # and is across splits
    problems: list[Problem] = []
    counts = ImageSource._duplicate_problems(groups, names, labels, ["a", "b"], given, problems)
    assert counts == {
        "groups": 150,
        "duplicate_files": 150,
        "across_splits": 150,
        "conflicting_labels": 150,
    }
    assert len(problems) == MAX_DUPLICATE_PROBLEMS + 1
    assert problems[-1].reason.startswith(f"{150 - MAX_DUPLICATE_PROBLEMS} more groups")


def test_duplicates_without_given_splits_are_noted_and_counted_after_splitting(
    tmp_path: Path,
) -> None:
    root = image_folder(tmp_path / "d", {"a": 10, "b": 10})
    for i in range(5):
        shutil.copy(root / "a" / f"a_00{i}.png", root / "a" / f"copy_{i}.png")
    src = ImageFolderSource.scan(root)
    assert any(p.item == "duplicates" and p.severity == "info" for p in src.info().problems)
    prepared = src.prepare(DataSettings(val_ratio=0.3, test_ratio=0.3, seed=1))
    assert any("identical images are spread across" in n for n in prepared.notes)


# ----------------------------------------------------------------------------- splits


def test_folder_given_splits_are_respected(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 4, "b": 3}, splits=["train", "val", "test"])
    image_folder(
        root / "test", {"b": 1}
    )  # more test images of b (names overlap: different content)
    src = ImageFolderSource.scan(root)
    info = src.info()
    assert info.splits_given and src.given_split is not None
    assert sorted(set(src.given_split.tolist())) == [0, 1, 2]
    split = src.split(DataSettings(val_ratio=0.3, test_ratio=0.3))
    names = {
        k: sorted(src.names[i].split("/")[0] for i in getattr(split, k))
        for k in ("train", "val", "test")
    }
    assert names == {"train": ["train"] * 7, "val": ["val"] * 7, "test": ["test"] * 7}
    assert info.details["split_counts"]["train"] == {"a": 4, "b": 3}
    prepared = src.prepare(DataSettings())
    assert (len(prepared.train), len(prepared.val), len(prepared.test)) == (7, 7, 7)


def test_a_given_train_split_without_val_gets_one_cut_out(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 10, "b": 10}, splits=["train", "test"])
    src = ImageFolderSource.scan(root)
    split = src.split(DataSettings(val_ratio=0.2))
    assert split.sizes() == {"train": 16, "val": 4, "test": 20}
    assert all(src.names[i].startswith("train/") for i in split.val)


def test_split_folders_need_a_train_folder(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 2, "b": 2}, splits=["val", "test"])
    with pytest.raises(DataError, match="no train/ folder"):
        ImageFolderSource.scan(root)


def test_split_is_reproducible_and_stratified(three_classes: Path) -> None:
    src = ImageFolderSource.scan(three_classes)
    again = ImageFolderSource.scan(three_classes)
    s = DataSettings(val_ratio=0.25, test_ratio=0.25, seed=3)
    a, b = src.split(s), again.split(s)
    for k in ("train", "val", "test"):
        assert np.array_equal(getattr(a, k), getattr(b, k))
    c = src.split(DataSettings(val_ratio=0.25, test_ratio=0.25, seed=4))
    assert not np.array_equal(a.train, c.train)
    assert len(np.unique(src.labels[a.val])) == 3 and len(np.unique(src.labels[a.test])) == 3
    assert sorted(np.concatenate([a.train, a.val, a.test]).tolist()) == list(range(31))


# ----------------------------------------------------------------------------- CSV index


def write_index(tmp_path: Path, rows: list[str], name: str = "index.csv") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(rows) + "\n")
    return p


@pytest.fixture
def indexed(tmp_path: Path) -> Path:
    for cls, n in (("cat", 4), ("dog", 4)):
        for i in range(n):
            save(
                make_image("RGB", value=(cls == "dog") * 100 + i, seed=i + (cls == "dog") * 10),
                tmp_path / "img" / f"{cls}{i}.png",
            )
    return tmp_path


def test_csv_index_with_and_without_header(indexed: Path) -> None:
    rows = [f"img/{c}{i}.png,{c}" for c in ("cat", "dog") for i in range(4)]
    for name, lines in (("plain.csv", rows), ("header.csv", ["filename,label", *rows])):
        p = write_index(indexed, lines, name)
        assert is_image_index(p)
        src = ImageIndexSource.scan(p)
        info = src.info()
        assert (
            info.class_counts == {"cat": 4, "dog": 4}
            and info.problems == []
            and info.path == str(p)
        )
        assert isinstance(open_dataset(p), ImageIndexSource)
    tsv = write_index(
        indexed,
        ["label\tpath\textra", *(f"{r.split(',')[1]}\t{r.split(',')[0]}\tx" for r in rows)],
        "idx.tsv",
    )
    assert ImageIndexSource.scan(tsv).info().class_counts == {"cat": 4, "dog": 4}


def test_csv_index_columns_are_found_by_content_or_name(indexed: Path) -> None:
    swapped = [f"{c},img/{c}{i}.png" for c in ("cat", "dog") for i in range(4)]
    assert ImageIndexSource.scan(
        write_index(indexed, swapped, "swapped.csv")
    ).info().class_counts == {"cat": 4, "dog": 4}
    named = [
        "class,notes,image",
        *(f"{c},n,img/{c}{i}.png" for c in ("cat", "dog") for i in range(4)),
    ]
    assert ImageIndexSource.scan(write_index(indexed, named, "named.csv")).info().class_counts == {
        "cat": 4,
        "dog": 4,
    }
    with pytest.raises(DataError, match="expected two columns"):
        ImageIndexSource.scan(write_index(indexed, ["img/cat0.png", "img/cat1.png"], "one.csv"))


def test_csv_index_split_column(indexed: Path) -> None:
    rows = ["path,label,split"] + [
        f"img/{c}{i}.png,{c},{'train' if i < 2 else 'test'}"
        for c in ("cat", "dog")
        for i in range(4)
    ]
    src = ImageIndexSource.scan(write_index(indexed, rows))
    assert src.info().splits_given
    assert src.split(DataSettings(val_ratio=0.0)).sizes() == {"train": 4, "val": 0, "test": 4}


def test_csv_index_missing_files_and_ragged_rows_are_problems(indexed: Path) -> None:
    rows = [
        "path,label",
        *(f"img/cat{i}.png,cat" for i in range(4)),
        *(f"img/dog{i}.png,dog" for i in range(3)),
        "img/missing.png,dog",
        "img/dog3.png",
        "img/dog3.png,dog,extra",
        ",dog",
    ]
    src = ImageIndexSource.scan(write_index(indexed, rows))
    info = src.info()
    assert info.class_counts == {"cat": 4, "dog": 3}
    r = reasons(src)
    assert "no such file" in r["img/missing.png"]
    assert r["index.csv:10"].startswith("1 fields where 2 were expected")
    assert r["index.csv:11"].startswith("3 fields where 2 were expected")
    assert "empty image path" in r["index.csv:12"]


def test_bad_csv_indexes_are_data_errors(indexed: Path) -> None:
    with pytest.raises(DataError, match="no usable rows"):
        ImageIndexSource.scan(write_index(indexed, ["a.png,x", "b.png,y"], "gone.csv"))
    with pytest.raises(DataError, match="a header but no rows"):
        ImageIndexSource.scan(write_index(indexed, ["path,label"], "hdr.csv"))
    (indexed / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        ImageIndexSource.scan(indexed / "empty.csv")
    garbage = indexed / "garbage.csv"
    garbage.write_bytes(b"\x89\x00\xff" + os.urandom(200))
    assert not is_image_index(garbage)
    with pytest.raises(DataError, match="not a text file"):
        ImageIndexSource.scan(garbage)


def test_is_image_index_never_raises(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    p = tmp_path / "x.csv"
    for k in range(40):
        p.write_bytes(
            rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8).tobytes()
            if k % 2
            else b'"a.png\n,"\r\x00'
        )
        assert is_image_index(p) in (True, False)


def test_is_image_index_sniffs_tables_apart(tmp_path: Path) -> None:
    assert not is_image_index(write_index(tmp_path, ["x,y,label", "1,2,a", "3,4,b"], "table.csv"))
    assert is_image_index(write_index(tmp_path, ["file;class", "a.JPG;x"], "semi.csv"))
    assert not is_image_index(tmp_path / "nope.csv")


def test_open_dataset_dispatches_folders_and_indexes(three_classes: Path, indexed: Path) -> None:
    assert isinstance(open_dataset(three_classes), ImageFolderSource)
    p = write_index(
        indexed,
        [f"img/cat{i}.png,cat" for i in range(4)] + [f"img/dog{i}.png,dog" for i in range(4)],
    )
    src = open_dataset(p)
    assert isinstance(src, ImageIndexSource) and src.info().num_samples == 8


# ----------------------------------------------------------------------------- preparation


def test_in_memory_and_streaming_give_the_same_tensors(three_classes: Path) -> None:
    src = ImageFolderSource.scan(three_classes)
    s = DataSettings(image_size=(9, 11), val_ratio=0.2, test_ratio=0.2, seed=5)
    mem = src.prepare(s, workers=2)  # a thread pool here, one thread below: the same pixels
    stream = src.prepare(s, memory_budget=0, cache_bytes=4096, workers=1, prefetch=2)
    assert torch.equal(collect(src.prepare(s).train)[0], collect(mem.train)[0])
    assert mem.in_memory and not stream.in_memory
    assert isinstance(mem.train, ImageTensorData) and isinstance(stream.train, StreamData)
    assert mem.input_shape == stream.input_shape == (3, 9, 11) and mem.input_dtype == "float32"
    assert mem.preprocessing == stream.preprocessing
    for name in ("train", "val", "test"):
        a, b = getattr(mem, name), getattr(stream, name)
        assert len(a) == len(b)
        xa, ya = collect(a, 4, shuffle=True, generator=torch.Generator().manual_seed(9))
        xb, yb = collect(b, 4, shuffle=True, generator=torch.Generator().manual_seed(9))
        assert xa.shape == xb.shape and xa.dtype == xb.dtype == torch.float32
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert mem.classes == ["circle", "square", "star"]
    pre = mem.preprocessing
    assert (
        pre["size"] == [9, 11]
        and pre["color"] == "rgb"
        and len(pre["mean"]) == 3
        and len(pre["std"]) == 3
    )
    # preprocess_image repeats the pipeline for inference
    x, _ = collect(mem.test, 100)
    first = src.files[int(mem.split.test[0])]
    assert torch.allclose(preprocess_image(first, pre), x[0], atol=1e-6)


def test_grayscale_drop_last_and_batches(three_classes: Path) -> None:
    src = ImageFolderSource.scan(three_classes)
    for budget in (None, 0):
        p = src.prepare(
            DataSettings(image_size=(8, 8), color="grayscale", val_ratio=0.0, test_ratio=0.0),
            memory_budget=budget,
        )
        sizes = [len(xb) for xb, _ in p.train.iter_batches(4, drop_last=True)]
        assert sizes == [4] * 7 and p.input_shape == (1, 8, 8)
        xb, yb = next(iter(p.train.iter_batches(5)))
        assert xb.shape == (5, 1, 8, 8) and yb.dtype == torch.int64


def test_normalization_uses_training_statistics_only(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for split, value in (("train", 40), ("val", 220), ("test", 220)):
        for cls in ("a", "b"):
            for i in range(3):
                save(
                    Image.new("L", (6, 6), value + i * 4 + (cls == "b") * 2),
                    root / split / cls / f"{i}.png",
                )
    src = ImageFolderSource.scan(root)
    for budget in (None, 0):
        p = src.prepare(DataSettings(image_size=(6, 6), color="grayscale"), memory_budget=budget)
        train_values = np.array([40 + i * 4 + b * 2 for b in (0, 1) for i in range(3)]) / 255
        assert p.preprocessing["mean"][0] == pytest.approx(train_values.mean(), abs=1e-6)
        assert p.preprocessing["std"][0] == pytest.approx(train_values.std(), abs=1e-6)
        x, _ = collect(p.train)
        assert float(x.mean()) == pytest.approx(0, abs=1e-5) and float(
            x.std(unbiased=False)
        ) == pytest.approx(1, abs=1e-4)
        v, _ = collect(p.val)
        assert float(v.mean()) > 5  # val is far brighter than train: not in the statistics
    p = src.prepare(DataSettings(image_size=(6, 6), color="grayscale", normalize=False))
    assert p.preprocessing["mean"] == [0.0] and p.preprocessing["std"] == [1.0]
    x, _ = collect(p.train)
    assert 0 <= float(x.min()) and float(x.max()) <= 1


AUG = Augment(hflip=True, rotation=15, resized_crop=True, brightness=0.3, contrast=0.3)


@pytest.mark.parametrize("budget", [None, 0])
def test_augmentation_is_training_only_and_seeded(three_classes: Path, budget: int | None) -> None:
    src = ImageFolderSource.scan(three_classes)
    plain = src.prepare(DataSettings(seed=2), memory_budget=budget)
    aug = src.prepare(DataSettings(seed=2, augment=AUG), memory_budget=budget)
    for name in ("val", "test"):
        assert torch.equal(collect(getattr(plain, name))[0], collect(getattr(aug, name))[0])

    def train(p: object, seed: int) -> torch.Tensor:
        return collect(p.train, 5, shuffle=True, generator=torch.Generator().manual_seed(seed))[0]  # type: ignore[attr-defined]

    assert not torch.equal(train(plain, 1), train(aug, 1))
    assert torch.equal(train(aug, 1), train(aug, 1))
    assert not torch.equal(train(aug, 1), train(aug, 2))
    # without a generator: the data's own, seeded from the settings
    fresh = src.prepare(DataSettings(seed=2, augment=AUG), memory_budget=budget)
    assert torch.equal(collect(aug.train)[0], collect(fresh.train)[0])


def test_augmentation_is_the_same_in_memory_and_streaming(three_classes: Path) -> None:
    src = ImageFolderSource.scan(three_classes)
    s = DataSettings(seed=2, augment=AUG)
    a = collect(src.prepare(s).train, 6, shuffle=True, generator=torch.Generator().manual_seed(3))[
        0
    ]
    b = collect(
        src.prepare(s, memory_budget=0).train,
        6,
        shuffle=True,
        generator=torch.Generator().manual_seed(3),
    )[0]
    assert torch.allclose(a, b, atol=1e-5)


def test_augment_batch_components() -> None:
    x = torch.rand(16, 3, 8, 10, generator=torch.Generator().manual_seed(0))
    flipped = augment_batch(x, Augment(hflip=True), torch.Generator().manual_seed(1))
    for i in range(16):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(-1))
    assert not torch.equal(flipped, x)
    for aug in (
        Augment(rotation=10),
        Augment(resized_crop=True),
        Augment(brightness=0.5),
        Augment(contrast=0.5),
    ):
        y = augment_batch(x, aug, torch.Generator().manual_seed(1))
        assert (
            y.shape == x.shape
            and 0 <= float(y.min())
            and float(y.max()) <= 1
            and not torch.equal(y, x)
        )
    assert augment_batch(x, Augment(), None) is x


def test_reads_move_to_threads_when_they_stall(
    three_classes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.data.image_pipeline as pipeline
    from workbench.data.images import ReadStallMeter

    src = ImageFolderSource.scan(three_classes)
    (three_classes / "star" / "star_000.png").unlink()  # vanished since the scan
    missing = src.files.index(str(three_classes / "star" / "star_000.png"))
    everything = np.arange(len(src.files))

    def decoder() -> ImageDecoder:
        return ImageDecoder(src.files, (8, 8), "rgb", ByteLRUCache(0), 1, lambda i, r: None)

    plain = decoder()
    expected, expected_ok = plain.decode_many(everything)
    assert not ReadStallMeter().stalled(100)  # nothing read yet: not stalled
    monkeypatch.setattr(pipeline.ReadStallMeter, "stalled", lambda self, files: True)
    adaptive = decoder()
    adaptive.decode_many(everything[:20])  # found to stall: reads move to threads
    assert adaptive._io_pool is not None
    got, ok = adaptive.decode_many(everything)
    assert np.array_equal(ok, expected_ok) and not ok[missing] and ok.sum() == len(everything) - 1
    assert np.array_equal(got[ok], expected[expected_ok])
    assert "No such file" in adaptive.failed[missing]
    adaptive.close()
    plain.close()


# ----------------------------------------------------------------------------- streaming bounds


def test_byte_lru_cache_is_bounded() -> None:
    cost = ByteLRUCache.cost(np.zeros(100, np.uint8))
    cache = ByteLRUCache(3 * cost)
    for k in range(5):
        cache.put(k, np.full(100, k, np.uint8))
        assert cache.bytes <= cache.max_bytes
    assert len(cache) == 3 and cache.get(0) is None and cache.get(4) is not None
    cache.get(2)
    cache.put(5, np.zeros(100, np.uint8))  # evicts 3, the least recently used
    assert cache.get(3) is None and cache.get(2) is not None
    cache.put(9, np.zeros(10_000, np.uint8))  # larger than the whole budget: not kept
    assert cache.get(9) is None and cache.peak_bytes <= cache.max_bytes


def test_streaming_cache_and_prefetch_stay_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = image_folder(tmp_path / "d", {"a": 30, "b": 30}, size=(16, 16))
    src = ImageFolderSource.scan(root)
    per_image = ByteLRUCache.cost(np.zeros((3, 8, 8), np.uint8))
    budget = 10 * per_image
    p = src.prepare(
        DataSettings(image_size=(8, 8), val_ratio=0.0, test_ratio=0.0),
        memory_budget=0,
        cache_bytes=budget,
        prefetch=2,
    )
    data = p.train
    assert isinstance(data, StreamData)
    for _ in range(2):
        collect(data, 8, shuffle=True)
    assert 0 < data.cache.peak_bytes <= budget and len(data.cache) <= 10
    # the loader runs at most `prefetch` batches ahead of a consumer that stops
    calls = []
    original = data.decoder.decode_many

    def counting(indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        return original(indices)

    data.decoder.decode_many = counting  # type: ignore[method-assign]
    # The loader is known to wait when its queue refuses a batch several times (no fixed sleep).
    full, put = [0], queue.Queue.put
    waiting = threading.Event()

    def watched_put(
        self: queue.Queue, item: object, block: bool = True, timeout: float | None = None
    ) -> None:
        try:
            put(self, item, block, timeout)
        except queue.Full:
            if threading.current_thread().name == "wb-prefetch":
                full[0] += 1
                if full[0] >= 3:
                    waiting.set()
            raise

    monkeypatch.setattr(queue.Queue, "put", watched_put)
    threads = threading.active_count()
    it = cast(Generator[Batch, None, None], data.iter_batches(4))
    next(it)
    assert waiting.wait(timeout=60)
    assert len(calls) <= 1 + 2 + 1  # the one consumed, two queued, one waiting to be queued
    (prefetch,) = [t for t in threading.enumerate() if t.name == "wb-prefetch"]
    it.close()  # abandoning the epoch stops the prefetch thread
    prefetch.join(timeout=30)
    assert not prefetch.is_alive() and threading.active_count() <= threads


# ----------------------------------------------------------------------------- cancel, isolation


def test_cancel_scan_and_prepare(three_classes: Path) -> None:
    seen: list[tuple[int, int]] = []
    with pytest.raises(DataCancelled):
        ImageFolderSource.scan(
            three_classes, progress=lambda d, t: seen.append((d, t)), cancelled=lambda: True
        )
    src = ImageFolderSource.scan(three_classes, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (31, 31)
    for workers in (1, 3):
        with pytest.raises(DataCancelled):
            src.prepare(DataSettings(), cancelled=lambda: True, workers=workers)
        with pytest.raises(DataCancelled):
            src.prepare(DataSettings(), memory_budget=0, cancelled=lambda: True, workers=workers)
    with pytest.raises(DataCancelled):
        ImageFolderSource.scan(three_classes, cancelled=lambda: True, workers=3)
    steps: list[tuple[int, int]] = []
    src.prepare(DataSettings(), progress=lambda d, t: steps.append((d, t)))
    assert steps[-1] == (31, 31)


def test_scanning_imports_neither_torch_nor_qt(three_classes: Path) -> None:
    code = (
        "import sys\n"
        "from workbench.data.images import ImageFolderSource\n"
        f"ImageFolderSource.scan({str(three_classes)!r}).info()\n"
        "print(sorted(m for m in ('torch', 'PySide6') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_benchmark_runs_on_a_small_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workbench.data import bench_images

    assert (
        bench_images.main(
            ["--count", "200", "--size", "8", "--dir", str(tmp_path), "--json", "--no-cold"]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["count"] == 200 and r["generate_s"] is not None and r["index_problems"] == 0
    assert r["streaming"]["epoch_samples"] == r["in_memory"]["epoch_samples"] == 140
    assert (
        r["streaming"]["cache_peak_mib"] <= r["streaming"]["cache_budget_mib"]
        and r["in_memory"]["in_memory"]
    )
    again = bench_images.run(count=200, size=8, base=tmp_path)
    assert again["generate_s"] is None  # the folder is reused
    if hasattr(os, "posix_fadvise"):
        assert again["index_cold_s"] is not None and again["streaming"]["cold_samples_per_s"] > 0
    assert "samples/s" in bench_images.format_report(again)
    assert bench_images.main(["--count", "3"]) == 2
