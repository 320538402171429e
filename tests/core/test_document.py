"""Editing through Document: undo, redo, modified state, listeners, save."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.document import Document
from workbench.core.graph import GraphError
from workbench.core.templates import make_project


def test_undo_redo_restores_exact_states(tmp_path: Path) -> None:
    doc = Document(make_project("empty"))
    seen: list[int] = []
    doc.subscribe(lambda d: seen.append(len(d.graph)))
    states = [doc.graph.to_dict()]
    doc.edit("Add", lambda g: g.add_node("Linear", node_id="l"))
    states.append(doc.graph.to_dict())
    doc.edit("Set", lambda g: g.set_params("l", {"units": 7}))
    states.append(doc.graph.to_dict())
    assert doc.modified and doc.undo_label() == "Set"
    assert doc.undo() and doc.graph.to_dict() == states[1]
    assert doc.undo() and doc.graph.to_dict() == states[0]
    assert not doc.undo() and not doc.modified
    assert doc.redo() and doc.redo() and doc.graph.to_dict() == states[2]
    assert seen == [4, 4, 4, 3, 4, 4]


def test_failed_edit_leaves_no_trace() -> None:
    doc = Document(make_project("mlp"))
    before = doc.graph.to_dict()
    with pytest.raises(GraphError):
        doc.edit("Bad", lambda g: (g.remove_node("linear_1"), g.connect("nope", "x")))
    assert doc.graph.to_dict() == before and not doc.can_undo() and not doc.modified


def test_save_clears_modified_and_new_edit_after_undo_drops_redo(tmp_path: Path) -> None:
    doc = Document(make_project("mlp"))
    doc.edit("Add", lambda g: g.add_node("ReLU"))
    doc.save(tmp_path / "m.wbproj")
    assert not doc.modified and doc.name == "m"
    doc.undo()
    assert doc.modified
    doc.redo()
    assert not doc.modified
    doc.undo()
    doc.edit("Other", lambda g: g.add_node("Tanh"))
    assert not doc.can_redo()
    reopened = Document.open(tmp_path / "m.wbproj")
    assert "relu_3" in reopened.graph.nodes
    assert doc.analysis is doc.analysis  # cached until the next change


def test_recording_a_run_saves_the_runs_list_without_marking_the_document_modified(tmp_path):
    from workbench.core.project import load_project
    from workbench.core.templates import make_project

    doc = Document(make_project("mlp"))
    path = tmp_path / "m.wbproj"
    doc.save(path)
    assert not doc.modified
    doc.project.runs.append({"id": "r1", "path": "m.runs/r1", "status": "finished"})
    assert doc.save_runs()
    assert not doc.modified
    assert [r["id"] for r in load_project(path).runs] == ["r1"]
    # Unsaved edits stay unsaved (and out of the file); the runs still reach it.
    doc.edit("Add", lambda g: g.add_node("ReLU", node_id="extra"))
    doc.project.runs.append({"id": "r2", "path": "m.runs/r2", "status": "stopped"})
    assert doc.save_runs()
    assert doc.modified
    on_disk = load_project(path)
    assert [r["id"] for r in on_disk.runs] == ["r1", "r2"]
    assert "extra" not in on_disk.graph.nodes


def test_runs_of_a_document_without_a_file_wait_for_the_next_save():
    doc = Document()
    doc.project.runs.append({"id": "r1"})
    assert not doc.save_runs()
    assert doc.modified
