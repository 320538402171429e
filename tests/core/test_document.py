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
