"""The .wbproj file: strict loading, one clear error type, migrations, atomic save."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core import project as proj
from workbench.core.project import (
    Project,
    ProjectError,
    load_project,
    loads_project,
    project_file,
    save_project,
    slug,
    suggested_project_file,
)
from workbench.core.templates import TEMPLATES, make_project


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_round_trips_through_a_file(tmp_path: Path, name: str) -> None:
    p = make_project(name)
    path = tmp_path / f"{name}.wbproj"
    save_project(p, path)
    q = load_project(path)
    assert q.to_dict() == p.to_dict()
    assert json.loads(path.read_text())["schema_version"] == proj.SCHEMA_VERSION


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "not text"),
        (b'{"schema_version": 1, "graph": {"nodes": [', "not valid JSON"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b'{"graph": {}}', "schema_version"),
        (b'{"schema_version": "1"}', "schema_version"),
        (b'{"schema_version": 99, "graph": {"nodes": [], "edges": []}}', "newer Model Workbench"),
        (b'{"schema_version": 1}', "no 'graph'"),
        (b'{"schema_version": 1, "graph": {"nodes": {}, "edges": []}}', "graph.nodes"),
        (
            b'{"schema_version": 1, "graph": {"nodes": [{"id": 3, "type": "Linear"}], "edges": []}}',
            ".id must be",
        ),
        (
            b'{"schema_version": 1, "graph": {"nodes": [{"id": "a", "type": "Nope"}], "edges": []}}',
            "unknown layer type",
        ),
        (
            b'{"schema_version": 1, "graph": {"nodes": [{"id": "a", "type": "Linear", "params": {"units": -3}}], "edges": []}}',
            "at least 1",
        ),
        (
            b'{"schema_version": 1, "graph": {"nodes": [{"id": "a", "type": "Linear", "params": {"units": "x"}}], "edges": []}}',
            "whole number",
        ),
        (
            b'{"schema_version": 1, "graph": {"nodes": [], "edges": [{"src": "a", "dst": "b"}]}}',
            "no node 'a'",
        ),
        (
            b'{"schema_version": 1, "graph": {"nodes": [{"id": "a", "type": "Linear", "pos": [0]}], "edges": []}}',
            "pos",
        ),
        (
            b'{"schema_version": 1, "graph": {"nodes": [], "edges": []}, "runs": ["zz"]}',
            "runs[0] must be an object",
        ),
        (
            b'{"schema_version": 1, "graph": {"nodes": [], "edges": []}, "runs": [{"id": 3}]}',
            "runs[0].id must be a string",
        ),
        (
            b'{"schema_version": 1, "graph": {"nodes": [], "edges": []}, "runs": "zz"}',
            "'runs' has the wrong type",
        ),
    ],
)
def test_bad_files_give_one_clear_error(content: bytes, fragment: str) -> None:
    with pytest.raises(ProjectError) as info:
        loads_project(content)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.wbproj"
    path.write_bytes(b"{")
    with pytest.raises(ProjectError, match=r"^broken\.wbproj: "):
        load_project(path)
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "missing.wbproj")
    with pytest.raises(ProjectError, match="folder"):
        load_project(tmp_path)


def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    text = proj.dumps_project(make_project("lenet"))
    for cut in range(1, len(text) - 2, max(1, len(text) // 40)):
        with pytest.raises(ProjectError):
            loads_project(text[:cut])


def test_migrations_bring_old_files_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    # A made-up older format 0 that kept edges as [src, dst] pairs.
    def v0_to_v1(doc: dict) -> dict:
        doc["graph"]["edges"] = [{"src": s, "dst": d, "port": 0} for s, d in doc["graph"]["edges"]]
        return doc

    monkeypatch.setitem(proj.MIGRATIONS, 0, v0_to_v1)
    doc = make_project("mlp").to_dict()
    doc["schema_version"] = 0
    doc["graph"]["edges"] = [[e["src"], e["dst"]] for e in doc["graph"]["edges"]]
    p = loads_project(json.dumps(doc))
    assert p.to_dict()["graph"] == make_project("mlp").to_dict()["graph"]
    monkeypatch.delitem(proj.MIGRATIONS, 0)
    with pytest.raises(ProjectError, match="too old"):
        loads_project(json.dumps(doc))


def test_save_is_atomic_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.wbproj"
    save_project(make_project("mlp"), path)
    before = path.read_bytes()

    def boom(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(ProjectError, match="No space left"):
        save_project(make_project("lenet"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.wbproj"]  # no temporary left behind


def _check(data: bytes | str) -> None:
    try:
        result = loads_project(data)
    except ProjectError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert isinstance(result, Project)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_any_bytes(data: bytes) -> None:
    _check(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(json_values)
def test_fuzz_any_json(value: object) -> None:
    _check(json.dumps(value))


_LENET = make_project("lenet").to_dict()


@st.composite
def mutated_projects(draw: st.DrawFn) -> dict:
    """A valid project with one value somewhere replaced by arbitrary JSON."""
    doc = json.loads(json.dumps(_LENET))
    paths: list[tuple] = []

    def walk(obj: object, path: tuple) -> None:
        paths.append(path)
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, (*path, k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, (*path, i))

    walk(doc, ())
    path = draw(st.sampled_from(paths[1:]))
    target = doc
    for key in path[:-1]:
        target = target[key]
    if draw(st.booleans()):
        target[path[-1]] = draw(json_values)
    elif isinstance(target, dict):
        del target[path[-1]]
    else:
        target.pop(path[-1])
    return doc


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutated_projects())
def test_fuzz_mutated_valid_projects(doc: dict) -> None:
    _check(json.dumps(doc))


def test_names_with_line_breaks_still_give_one_line() -> None:
    # Found by the fuzz test above: a parameter named "\n" made a two-line message.
    doc = json.loads(proj.dumps_project(Project()))
    doc["graph"]["nodes"] = [{"id": "relu_1", "type": "ReLU", "params": {"\n": 1}, "pos": [0, 0]}]
    with pytest.raises(ProjectError) as info:
        loads_project(json.dumps(doc))
    assert "\n" not in str(info.value) and "has no parameter '\\n'" in str(info.value)
    assert "\n" not in str(ProjectError("node 'a\nb'\x00"))


def _leftover(path: Path, age: float = 3600) -> Path:
    """A file last modified ``age`` seconds ago."""
    path.write_bytes(b"half")
    t = time.time() - age
    os.utime(path, (t, t))
    return path


def test_opening_a_project_removes_what_killed_writes_left(tmp_path: Path) -> None:
    project = tmp_path / "net.wbproj"
    save_project(Project(), project)
    run = tmp_path / "net.runs" / "20250101-000000"
    (run / "checkpoints").mkdir(parents=True)
    (run / "status.json").write_text('{"status": "stopped"}')
    stale = [
        _leftover(run / ".status.json.ab12cd_9.tmp"),
        _leftover(run / "checkpoints" / ".last.pt.x1y2z3w4.tmp"),
        _leftover(tmp_path / ".net.wbproj.k2j3h4g5.tmp"),
    ]
    kept = [
        _leftover(
            run / "checkpoints" / ".best.pt.abcdefgh.tmp", age=0
        ),  # fresh: a write may be in progress
        _leftover(
            tmp_path / ".other.onnx.abcdefgh.tmp"
        ),  # beside the project, but not the project's
        _leftover(run / "notes.tmp"),  # not our naming
    ]
    load_project(project)
    assert [f for f in stale if f.exists()] == []
    assert all(f.exists() for f in kept)


def test_a_live_run_keeps_its_temporary_files(tmp_path: Path) -> None:
    project = tmp_path / "net.wbproj"
    save_project(Project(), project)
    run = tmp_path / "net.runs" / "r1"
    run.mkdir(parents=True)
    (run / "status.json").write_text(json.dumps({"status": "running", "pid": os.getpid()}))
    tmp = _leftover(run / ".metrics.jsonl.abcdefgh.tmp")
    load_project(project)
    assert tmp.exists()


# --- file names -----------------------------------------------------------------------------


def test_slug_keeps_safe_characters_and_falls_back_to_project() -> None:
    assert slug("my net") == "my_net"
    assert slug("a/b\\c:d") == "a_b_c_d"
    assert slug("  ") == "project"
    assert slug("???") == "project"
    assert slug("x" * 100) == "x" * 40
    assert slug("keep-this_one") == "keep-this_one"


def test_project_file_adds_the_suffix_only_when_there_is_none(tmp_path: Path) -> None:
    assert project_file(tmp_path / "net") == tmp_path / "net.wbproj"
    assert project_file(str(tmp_path / "net.wbproj")) == tmp_path / "net.wbproj"
    assert project_file(tmp_path / "net.json") == tmp_path / "net.json"  # the user's choice


def test_a_new_project_is_suggested_under_its_name_in_the_folder(tmp_path: Path) -> None:
    assert suggested_project_file("LeNet CNN for images", tmp_path) == (
        tmp_path / "LeNet_CNN_for_images.wbproj"
    )
    assert suggested_project_file("???", str(tmp_path)) == tmp_path / "project.wbproj"
