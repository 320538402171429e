"""The layer palette, the generated inspector form, the summary table and the start page."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from workbench.core import catalog
from workbench.core.document import Document
from workbench.core.graph import Graph, GraphError
from workbench.core.project import Project
from workbench.core.templates import TEMPLATES, make_project
from workbench.ui.inspector import Inspector, parse_ints
from workbench.ui.palette import LAYER_MIME, LayerPalette
from workbench.ui.start_page import StartPage
from workbench.ui.summary import SummaryPanel

EDITOR_KIND = {
    "int": QSpinBox,
    "float": QDoubleSpinBox,
    "bool": QCheckBox,
    "choice": QComboBox,
    "ints": QLineEdit,
}


@pytest.fixture
def palette(qtbot):
    p = LayerPalette()
    qtbot.addWidget(p)
    return p


@pytest.fixture
def lenet() -> Document:
    return Document(make_project("lenet"))


@pytest.fixture
def inspector(qtbot, lenet):
    w = Inspector()
    qtbot.addWidget(w)
    w.set_document(lenet)
    return w


# --- palette ---------------------------------------------------------------------------


def test_palette_lists_every_catalog_layer_in_group_order(palette):
    expected = [layer.name for layers in catalog.by_group().values() for layer in layers]
    assert palette.visible_layers() == expected
    groups = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert groups == list(catalog.by_group())


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("conv", {"Conv1d", "Conv2d"}, {"Linear", "Input"}),
        ("CONV2D", {"Conv2d"}, {"Conv1d"}),  # case-insensitive
        ("input & output", {"Input", "Output"}, {"Linear"}),  # by group
        ("fully connected", {"Linear"}, {"Conv2d"}),  # by doc
    ],
)
def test_palette_search_filters(palette, text, present, absent):
    palette.search.setText(text)
    shown = set(palette.visible_layers())
    assert present <= shown
    assert not absent & shown


def test_palette_search_without_match_shows_empty_state_and_clears(palette):
    palette.set_filter("zzzz-no-layer")
    assert palette.visible_layers() == []
    assert palette._stack.currentWidget() is palette._empty
    assert "zzzz-no-layer" in palette._empty.text()
    palette.set_filter("")
    assert len(palette.visible_layers()) == len(catalog.CATALOG)
    assert palette._stack.currentWidget() is palette.tree


def _item(palette, name):
    for i in range(palette.tree.topLevelItemCount()):
        top = palette.tree.topLevelItem(i)
        for j in range(top.childCount()):
            if top.child(j).text(0) == name:
                return top.child(j)
    raise AssertionError(name)


def test_palette_drag_carries_the_layer_mime(palette):
    item = _item(palette, "Linear")
    mime = palette.tree.mimeData([item])
    assert mime.hasFormat(LAYER_MIME)
    assert bytes(mime.data(LAYER_MIME).data()).decode("utf-8") == "Linear"
    assert palette.tree.mimeTypes() == [LAYER_MIME]
    assert bytes(palette.mime_data("Conv2d").data(LAYER_MIME).data()) == b"Conv2d"
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled


def test_palette_tooltips_come_from_the_catalog(palette):
    for name, layer in catalog.CATALOG.items():
        tip = _item(palette, name).toolTip(0)
        assert tip.startswith(layer.doc)
        if layer.onnx_note:
            assert layer.onnx_note in tip


def test_palette_activation_and_enter_in_search_emit_layer_activated(palette, qtbot):
    with qtbot.waitSignal(palette.layer_activated) as blocker:
        palette.tree.itemActivated.emit(_item(palette, "Dropout"), 0)
    assert blocker.args == ["Dropout"]
    palette.search.setText("linear")
    with qtbot.waitSignal(palette.layer_activated) as blocker:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == ["Linear"]


# --- inspector -------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", sorted(catalog.CATALOG))
def test_inspector_builds_a_form_for_every_layer_type(qtbot, type_name):
    layer = catalog.get(type_name)
    g = Graph()
    node = g.add_node(type_name)
    doc = Document(Project(graph=g))
    w = Inspector()
    qtbot.addWidget(w)
    w.set_document(doc)
    w.set_selection([node.id])
    assert w._title.text() == type_name
    assert list(w.fields) == [p.name for p in layer.params]
    for p in layer.params:
        field = w.fields[p.name]
        assert isinstance(field.widget, EDITOR_KIND[p.kind])
        assert field.widget.toolTip() == p.doc
        assert field.read() == node.params[p.name]  # shows the current value exactly
    assert not doc.can_undo()  # building the form edits nothing


def _select(inspector, node_id):
    inspector.set_selection([node_id])
    return inspector.fields


def test_editing_an_int_param_commits_one_undoable_edit(inspector, lenet):
    spin = _select(inspector, "conv2d_1")["out_channels"].widget
    spin.setValue(8)
    spin.editingFinished.emit()
    assert lenet.graph.nodes["conv2d_1"].params["out_channels"] == 8
    assert lenet.undo_label() == "Set Out channels"
    assert lenet.analysis.nodes["conv2d_1"].output.shape == (8, 24, 24)
    assert lenet.undo()
    assert not lenet.can_undo()
    assert lenet.graph.nodes["conv2d_1"].params["out_channels"] == 16
    assert spin.value() == 16  # the form follows undo


def test_arrow_steps_are_one_edit_after_a_pause(inspector, lenet, qtbot):
    field = _select(inspector, "linear_1")["units"]
    for _ in range(3):
        field.widget.stepUp()
    assert not lenet.can_undo()  # nothing per step
    qtbot.waitUntil(lambda: not field.pending, timeout=30_000)
    assert lenet.graph.nodes["linear_1"].params["units"] == 131
    lenet.undo()
    assert not lenet.can_undo()


def test_pending_spin_change_is_committed_when_the_selection_changes(inspector, lenet):
    field = _select(inspector, "linear_1")["units"]
    field.widget.stepUp()
    inspector.set_selection(["conv2d_1"])
    assert lenet.graph.nodes["linear_1"].params["units"] == 129


def test_a_field_of_a_replaced_form_never_edits_the_new_node(inspector, lenet):
    old = _select(inspector, "conv2d_1")["kernel_size"]
    inspector.set_selection(["conv2d_2"])
    old.commit()  # e.g. editingFinished from the old editor losing focus as it goes away
    assert lenet.graph.nodes["conv2d_2"].params["kernel_size"] == 5
    assert lenet.graph.nodes["conv2d_1"].params["kernel_size"] == 5
    assert not lenet.can_undo()


def test_bool_and_choice_commit_immediately(inspector, lenet):
    fields = _select(inspector, "conv2d_1")
    fields["bias"].widget.setChecked(False)
    assert lenet.graph.nodes["conv2d_1"].params["bias"] is False
    fields = _select(inspector, "output_1")
    combo = fields["task"].widget
    combo.setCurrentIndex(combo.findText("regression"))
    combo.activated.emit(combo.currentIndex())
    assert lenet.graph.nodes["output_1"].params["task"] == "regression"
    assert lenet.undo_label() == "Set Task"


def test_float_param_round_trips(qtbot):
    g = Graph()
    node = g.add_node("Dropout", {"p": 0.2})
    doc = Document(Project(graph=g))
    w = Inspector()
    qtbot.addWidget(w)
    w.set_document(doc)
    field = _select(w, node.id)["p"]
    assert field.widget.text() == "0.2"
    field.widget.setValue(0.35)
    field.commit()
    assert doc.graph.nodes[node.id].params["p"] == pytest.approx(0.35)


@pytest.mark.parametrize("text", ["1 28 abc", "0 28 28", "", "1 2 3 4 5 6 7 8 9"])
def test_invalid_ints_show_an_inline_error_and_leave_the_graph(inspector, lenet, text):
    field = _select(inspector, "input_1")["shape"]
    edit = field.widget
    before = lenet.graph.to_dict()
    edit.setText(text)
    edit.textEdited.emit(text)
    edit.editingFinished.emit()
    assert field.error.isVisibleTo(inspector)
    assert field.error.text()
    assert edit.property("invalid") is True
    assert lenet.graph.to_dict() == before
    assert not lenet.can_undo()
    # Fixing the text clears the error and commits.
    edit.setText("1, 32, 32")
    edit.textEdited.emit("1, 32, 32")
    edit.editingFinished.emit()
    assert not field.error.isVisibleTo(inspector)
    assert not edit.property("invalid")
    assert lenet.graph.nodes["input_1"].params["shape"] == [1, 32, 32]


def test_a_refused_edit_is_shown_inline_and_reverted(inspector, lenet, monkeypatch):
    def refuse(label, fn):
        raise GraphError("conv2d_1: refused for the test")

    monkeypatch.setattr(lenet, "edit", refuse)
    spin = _select(inspector, "conv2d_1")["kernel_size"].widget
    spin.setValue(3)
    spin.editingFinished.emit()
    assert inspector.edit_error.isVisibleTo(inspector)
    assert "refused for the test" in inspector.edit_error.text()
    assert spin.value() == 5


def test_parse_ints_accepts_spaces_commas_and_x():
    assert parse_ints("3, 32 32") == [3, 32, 32]
    assert parse_ints("3x32x32") == [3, 32, 32]
    assert parse_ints("  ") == []


def test_inspector_shows_stats_and_issues_of_a_node(inspector, lenet):
    lenet.edit(
        "break", lambda g: g.remove_node("flatten_1") or g.connect("maxpool2d_2", "linear_1")
    )
    _select(inspector, "linear_1")
    assert "Flatten" in inspector.issues.text()
    assert inspector.issues.isVisibleTo(inspector)
    _select(inspector, "conv2d_1")
    assert "(N, 16, 24, 24)" in inspector._stats.text()
    assert "416" in inspector._stats.text()
    assert not inspector.issues.isVisibleTo(inspector)


def test_inspector_empty_and_multi_selection(inspector, lenet):
    inspector.set_selection([])
    assert inspector._title.text() == "Model"
    assert "80,202" in inspector._stats.text()
    assert "Select a layer" in inspector._hint.text()
    inspector.set_selection(["conv2d_1", "relu_1"])
    assert inspector._title.text() == "2 layers selected"
    assert inspector.fields == {}
    empty = Document()
    inspector.set_document(empty)
    assert "empty" in inspector._hint.text()


def test_inspector_follows_removal_of_the_selected_node(inspector, lenet):
    _select(inspector, "relu_1")
    lenet.edit("Delete", lambda g: g.remove_node("relu_1"))
    assert inspector._title.text() == "Model"


# --- summary ---------------------------------------------------------------------------


def test_summary_rows_totals_and_clicks(qtbot, lenet):
    s = SummaryPanel()
    qtbot.addWidget(s)
    s.set_document(lenet)
    assert s.row_ids() == lenet.analysis.order
    assert s.table.item(1, 1).text() == "(N, 16, 24, 24)"
    assert s.table.item(1, 0).toolTip().startswith("conv2d_1: Conv2d, ")
    assert s.totals["params"] == "80.2 k"
    assert s.totals["errors"] == "0"
    assert s.totals["flops"].endswith("MFLOPs")
    assert s.totals["activations"].endswith("MB")
    with qtbot.waitSignal(s.node_clicked) as blocker:
        s.table.cellClicked.emit(1, 0)
    assert blocker.args == ["conv2d_1"]
    s.set_selection(["relu_1", "linear_1"])
    assert s.selected_ids() == ["relu_1", "linear_1"]


def test_summary_tints_rows_with_errors(qtbot, lenet):
    s = SummaryPanel()
    qtbot.addWidget(s)
    s.set_document(lenet)
    lenet.edit(
        "break", lambda g: g.remove_node("flatten_1") or g.connect("maxpool2d_2", "linear_1")
    )
    row = s.row_ids().index("linear_1")
    assert (
        s.table.item(row, 0).background().color().name()
        != s.table.item(0, 0).background().color().name()
    )
    assert s.totals["errors"] == "1"


# --- start page ------------------------------------------------------------------------


def test_start_page_offers_templates_and_recent(qtbot, tmp_path):
    recent = tmp_path / "mine.wbproj"
    page = StartPage([str(recent)])
    qtbot.addWidget(page)
    assert set(page.cards) == set(TEMPLATES) - {"empty"}
    with qtbot.waitSignal(page.template_chosen) as blocker:
        qtbot.mouseClick(page.cards["lenet"], Qt.MouseButton.LeftButton)
    assert blocker.args == ["lenet"]
    with qtbot.waitSignal(page.template_chosen) as blocker:
        page.empty_button.click()
    assert blocker.args == ["empty"]
    with qtbot.waitSignal(page.open_requested):
        page.open_button.click()
    with qtbot.waitSignal(page.recent_chosen) as blocker:
        page.recent_buttons[0].click()
    assert blocker.args == [str(recent)]


# --- issue 9, item 19 -----------------------------------------------------------------------


def test_the_palette_never_cuts_a_layer_name(palette, qtbot):
    from PySide6.QtWidgets import QLayout

    # As narrow as a panel (dock) lets it be: its minimum size hint.
    narrowest = palette.minimumSizeHint().width()
    palette.layout().setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)  # offscreen: no WM
    palette.resize(narrowest, 500)
    palette.show()
    qtbot.waitExposed(palette)
    tree = palette.tree
    fm = tree.fontMetrics()
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        for j in range(top.childCount()):
            item = top.child(j)
            rect = tree.visualItemRect(item)
            need = fm.horizontalAdvance(item.text(0))
            assert rect.left() + need <= tree.viewport().width(), item.text(0)


def test_maxpool_stride_says_same_as_kernel_instead_of_zero(inspector, lenet):
    inspector.set_selection(["maxpool2d_1"])
    stride = inspector.fields["stride"].widget
    assert lenet.graph.nodes["maxpool2d_1"].params["stride"] == 0
    assert stride.text() == "same as kernel"
    stride.setValue(3)
    assert stride.text() == "3"
