"""Dataset fingerprints: what a resume compares, and the one line that says what changed."""

from __future__ import annotations

import os
from pathlib import Path

from workbench.data.fingerprint import dataset_fingerprint, describe_change


def make_folder(root: Path) -> Path:
    for cls, n in (("circle", 100), ("square", 100)):
        (root / "shapes" / cls).mkdir(parents=True)
        for i in range(n):
            (root / "shapes" / cls / f"{i:03d}.png").write_bytes(b"x" * (i + 1))
    (root / "shapes" / ".DS_Store").write_bytes(b"ignored")
    return root / "shapes"


def test_an_unchanged_folder_matches(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    before = dataset_fingerprint(folder)
    assert len(before["files"]) == 200
    (folder / ".hidden").write_text("not data")
    assert describe_change(before, dataset_fingerprint(folder), "shapes") is None


def test_removed_added_and_modified_files_are_named(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    before = dataset_fingerprint(folder)
    for i in range(80):
        (folder / "circle" / f"{i:03d}.png").unlink()
    (folder / "square" / "new.png").write_bytes(b"new")
    (folder / "square" / "005.png").write_bytes(b"changed!")
    change = describe_change(before, dataset_fingerprint(folder), "shapes")
    assert change == (
        "80 files removed (shapes/circle/…), 1 file added (shapes/square/new.png), "
        "1 file modified (shapes/square/005.png)"
    )


def test_a_touched_file_counts_as_modified(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    before = dataset_fingerprint(folder)
    os.utime(folder / "circle" / "000.png", ns=(1, 1))
    assert (
        describe_change(before, dataset_fingerprint(folder), "shapes")
        == "1 file modified (shapes/circle/000.png)"
    )


def test_a_file_is_compared_by_content(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("a,b\n1,2\n")
    before = dataset_fingerprint(f)
    os.utime(f, ns=(1, 1))
    assert describe_change(before, dataset_fingerprint(f)) is None  # only the time changed
    f.write_text("a,b\n1,3\n")
    assert describe_change(before, dataset_fingerprint(f)) == "the file's contents changed"
    f.write_text("a,b\n1,3\n4,5\n")
    assert "size changed" in (describe_change(before, dataset_fingerprint(f)) or "")


def test_nothing_recorded_means_nothing_to_compare(tmp_path: Path) -> None:
    now = dataset_fingerprint(make_folder(tmp_path))
    assert describe_change({}, now) is None
    assert describe_change(None, now) is None
    assert describe_change({"version": 99, "kind": "folder", "files": {}}, now) is None
