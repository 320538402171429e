"""Autosave names, records and finding the copies a crash left, without Qt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from workbench.core.autosave import (
    autosave_file,
    find_autosaves,
    pid_alive,
    recovery_prompt,
    remove_autosave,
    sidecar,
    write_autosave,
)
from workbench.core.project import SUFFIX, load_project
from workbench.core.templates import make_project


def test_a_saved_project_always_gets_the_same_file(tmp_path: Path) -> None:
    project = tmp_path / f"net{SUFFIX}"
    a = autosave_file(tmp_path, "net", project, "session-a")
    b = autosave_file(tmp_path, "net", project, "session-b")
    assert a == b
    assert a.parent == tmp_path
    assert a.name.startswith("net-") and a.name.endswith(SUFFIX)


def test_an_unsaved_project_gets_a_file_per_session(tmp_path: Path) -> None:
    a = autosave_file(tmp_path, "Untitled", None, "session-a")
    b = autosave_file(tmp_path, "Untitled", None, "session-b")
    assert a != b
    assert a == autosave_file(tmp_path, "Untitled", None, "session-a")


def test_write_autosave_writes_the_project_and_its_record(tmp_path: Path) -> None:
    path = tmp_path / "auto" / f"net-123{SUFFIX}"
    original = tmp_path / f"net{SUFFIX}"
    project = make_project("mlp")
    write_autosave(project, path, "net", original)
    assert load_project(path).to_dict() == project.to_dict()
    record = json.loads(sidecar(path).read_text(encoding="utf-8"))
    assert record["original_path"] == str(original.resolve())
    assert record["name"] == "net"
    assert record["pid"] == os.getpid()
    assert isinstance(record["saved_at"], float)

    remove_autosave(path)
    assert not path.exists() and not sidecar(path).exists()
    remove_autosave(path)  # a second time is fine


def test_sidecar_sits_beside_the_autosave(tmp_path: Path) -> None:
    assert sidecar(tmp_path / f"a{SUFFIX}") == tmp_path / f"a{SUFFIX}.json"


def test_pid_alive_ignores_bad_values_and_this_process() -> None:
    assert not pid_alive(None)
    assert not pid_alive("123")
    assert not pid_alive(0)
    assert not pid_alive(-5)
    assert not pid_alive(os.getpid())


def test_pid_alive_sees_a_finished_process_as_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)


def _autosave(folder: Path, name: str, mtime: float, record: object) -> Path:
    path = folder / f"{name}{SUFFIX}"
    path.write_text("{}", encoding="utf-8")
    if record is not None:
        sidecar(path).write_text(json.dumps(record), encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def test_find_autosaves_lists_newest_first_and_reads_records(tmp_path: Path) -> None:
    old = _autosave(tmp_path, "old", 1_000.0, {"name": "Old net", "original_path": "/x/old"})
    new = _autosave(tmp_path, "new", 2_000.0, {"name": "", "original_path": 7})
    bare = _autosave(tmp_path, "bare", 1_500.0, None)
    broken = _autosave(tmp_path, "broken", 500.0, None)
    sidecar(broken).write_text("not json", encoding="utf-8")
    listed = _autosave(tmp_path, "list", 400.0, [1, 2])

    entries = find_autosaves(tmp_path)
    assert [e["path"] for e in entries] == [new, bare, old, broken, listed]
    assert entries[0]["name"] == "new"  # an empty name falls back to the file's stem
    assert entries[0]["original_path"] is None  # not a string
    assert entries[2] == {
        "path": old,
        "original_path": "/x/old",
        "name": "Old net",
        "saved_at": 1_000.0,
    }


def test_find_autosaves_skips_its_own_and_those_of_running_sessions(tmp_path: Path) -> None:
    mine = _autosave(tmp_path, "mine", 1_000.0, {"pid": os.getpid()})
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _autosave(tmp_path, "theirs", 1_000.0, {"pid": other.pid})
        kept = _autosave(tmp_path, "kept", 1_000.0, {"pid": os.getpid()})
        entries = find_autosaves(tmp_path, skip=mine)
        expected = [] if os.name == "posix" else ["theirs"]
        assert sorted(e["path"].stem for e in entries) == sorted([kept.stem, *expected])
    finally:
        other.kill()
        other.wait()


def test_find_autosaves_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert find_autosaves(tmp_path / "nope") == []


def test_recovery_prompt_names_the_project_and_when_it_was_saved() -> None:
    saved_at = 1_700_000_000.0
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved_at))
    what, offer = recovery_prompt({"name": "digits", "saved_at": saved_at, "path": Path("x")})
    assert what == "Model Workbench closed without saving “digits”."
    assert offer == f"An autosaved copy from {when} was found. Recover it?"
