"""Autosaved copies of open projects: their file names, their records, finding what a crash left.

An autosave is a ``.wbproj`` copy in :func:`~workbench.core.settings.autosave_dir` with a
sidecar ``<name>.wbproj.json`` saying which file it copies, under what name, and which
process wrote it. The window writes one for a modified document now and then and offers
the newest one left by an earlier session. Nothing here imports Qt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.core.fileio import atomic_write_text
from workbench.core.project import SUFFIX, Project, save_project, slug
from workbench.core.text import APP_NAME


def autosave_file(folder: Path, name: str, project_path: Path | None, session_key: str) -> Path:
    """Where a document called ``name`` is autosaved in ``folder``.

    The same saved project (``project_path``) always gets the same file, whatever the
    session; an unsaved one gets a file of its own for the session (``session_key``).
    """
    key_source = str(project_path.resolve()) if project_path else session_key
    digest = hashlib.sha1(key_source.encode("utf-8")).hexdigest()[:12]
    return folder / f"{slug(name)}-{digest}{SUFFIX}"


def sidecar(path: Path) -> Path:
    """The record (JSON) written beside the autosave ``path``."""
    return path.with_name(path.name + ".json")


def write_autosave(project: Project, path: Path, name: str, project_path: Path | None) -> None:
    """Save ``project`` to ``path`` with its record; raises OSError or ProjectError."""
    record = {
        "original_path": str(project_path.resolve()) if project_path else None,
        "name": name,
        "pid": os.getpid(),
        "saved_at": time.time(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_project(project, path)
    atomic_write_text(sidecar(path), json.dumps(record, indent=2))


def remove_autosave(path: Path) -> None:
    """Delete an autosave and its record; missing files are fine."""
    for p in (path, sidecar(path)):
        with contextlib.suppress(OSError):
            p.unlink()


def pid_alive(pid: Any) -> bool:
    """Whether another live process has this pid (POSIX only; elsewhere assume not)."""
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid() or os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _read_record(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def find_autosaves(folder: Path, skip: Path | None = None) -> list[dict[str, Any]]:
    """Autosaves in ``folder`` left by sessions that ended, newest first.

    Each entry has ``path``, ``original_path`` (str or None), ``name`` and ``saved_at``
    (the file's modification time). ``skip`` (this session's own autosave) and autosaves
    whose writer is still running are left out; a missing or unreadable record is not a
    reason to leave one out.
    """
    if not folder.is_dir():
        return []
    entries: list[dict[str, Any]] = []
    for p in folder.glob(f"*{SUFFIX}"):
        if p == skip:
            continue
        meta = _read_record(p)
        if pid_alive(meta.get("pid")):
            continue  # another running Model Workbench owns it
        try:
            mtime = p.stat().st_mtime
        except OSError:
            continue
        original = meta.get("original_path")
        entries.append(
            {
                "path": p,
                "original_path": original if isinstance(original, str) else None,
                "name": str(meta.get("name") or p.stem),
                "saved_at": mtime,
            }
        )
    entries.sort(key=lambda e: float(e["saved_at"]), reverse=True)
    return entries


def recovery_prompt(entry: Mapping[str, Any]) -> tuple[str, str]:
    """Offering an autosave (a :func:`find_autosaves` entry) back: (what happened, the offer)."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(entry["saved_at"])))
    return (
        f"{APP_NAME} closed without saving “{entry['name']}”.",
        f"An autosaved copy from {when} was found. Recover it?",
    )


__all__ = [
    "autosave_file",
    "find_autosaves",
    "pid_alive",
    "recovery_prompt",
    "remove_autosave",
    "sidecar",
    "write_autosave",
]
