"""A dataset's fingerprint: enough to tell, later, whether it is still the data a run started on.

A folder is described by its files' relative names, sizes and modification times (hidden
files and folders are left out, as the readers leave them out); a single file by the
SHA-256 of its contents. :func:`describe_change` compares two fingerprints and says in
one line what changed. Plain Python: no torch, no Qt.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

#: Bump if what a fingerprint holds changes; fingerprints of another version are not compared.
VERSION = 1


def dataset_fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The fingerprint of the dataset at ``path`` (a folder or a file).

    Raises:
        OSError: the dataset cannot be read.
    """
    p = Path(path)
    if p.is_dir():
        files: dict[str, list[int]] = {}
        for folder, dirs, names in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            rel = Path(folder).relative_to(p)
            for name in sorted(names):
                if name.startswith("."):
                    continue
                try:
                    st = os.stat(os.path.join(folder, name))
                except OSError:
                    continue  # a broken link: the readers skip it as well
                files[(rel / name).as_posix()] = [st.st_size, st.st_mtime_ns]
        return {"version": VERSION, "kind": "folder", "files": files}
    h = hashlib.sha256()
    size = 0
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return {"version": VERSION, "kind": "file", "size": size, "sha256": h.hexdigest()}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _where(names: list[str], top: str) -> str:
    """Where the files are, briefly: ``shapes/circle/…`` or ``shapes/a.png, shapes/b.png``."""
    parents = sorted({n.rpartition("/")[0] for n in names})
    if len(names) <= 2:
        shown = [f"{top}/{n}" for n in sorted(names)[:2]]
    else:
        shown = [f"{top}/{p}/…" if p else f"{top}/…" for p in parents[:2]]
        if len(parents) > 2:
            shown.append("…")
    return ", ".join(shown)


def describe_change(old: Any, new: dict[str, Any], name: str = "") -> str | None:
    """What changed between two fingerprints of a dataset, in one line; None when nothing did.

    Args:
        old: The fingerprint recorded earlier; anything unusable (missing, another
            version) counts as unchanged, since there is nothing to compare.
        new: The fingerprint now.
        name: The dataset's folder or file name, to show the files' paths from.
    """
    if not isinstance(old, dict) or old.get("version") != VERSION or new.get("version") != VERSION:
        return None
    if old.get("kind") != new.get("kind"):
        return f"it was a {old.get('kind')} and is now a {new.get('kind')}"
    if new["kind"] == "file":
        if old.get("sha256") == new["sha256"]:
            return None
        if old.get("size") != new["size"]:
            return f"the file's size changed from {old.get('size')} to {new['size']} bytes"
        return "the file's contents changed"
    before, now = old.get("files"), new["files"]
    if not isinstance(before, dict):
        return None
    removed = [n for n in before if n not in now]
    added = [n for n in now if n not in before]
    modified = [n for n in now if n in before and list(before[n]) != list(now[n])]
    parts = []
    for names, what in ((removed, "removed"), (added, "added"), (modified, "modified")):
        if names:
            parts.append(f"{_plural(len(names), 'file')} {what} ({_where(names, name)})")
    return ", ".join(parts) or None
