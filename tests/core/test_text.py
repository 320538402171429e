"""The words the window shows, made without Qt: sizes, titles, status lines, menu labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.catalog import TensorSpec
from workbench.core.graph import Edge
from workbench.core.shapes import Issue
from workbench.core.text import (
    CLIPBOARD_NOT_LAYERS,
    EMPTY_CANVAS_HINT,
    STOP_TRAINING_PROMPT,
    capitalized,
    chosen_layer,
    clock,
    copied_status,
    delete_label,
    delete_status,
    duplicate_label,
    edge_tooltip,
    errors_tooltip,
    history_action_text,
    human_bytes,
    human_count,
    human_flops,
    input_port_tooltip,
    is_selection_status,
    layer_choice,
    many_label,
    model_stats,
    no_match_status,
    node_tooltip,
    output_port_tooltip,
    params_label,
    recent_label,
    save_changes_prompt,
    selection_status,
    sentence,
    shape_label,
    window_title,
)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1234, "1.2 k"),
        (1_234_567, "1.2 M"),
        (3e9, "3.0 G"),
        (-2500, "-2.5 k"),
    ],
)
def test_human_count(n: float, text: str) -> None:
    assert human_count(n) == text


def test_human_flops_and_bytes() -> None:
    assert human_flops(12) == "12 FLOPs"
    assert human_flops(3.4e9) == "3.4 GFLOPs"
    assert human_flops(2e12) == "2.0 TFLOPs"
    assert human_bytes(100) == "100 B"
    assert human_bytes(1536) == "1.5 KB"
    assert human_bytes(3 * 1024**3) == "3.0 GB"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00:00"), (59.6, "0:01:00"), (3725, "1:02:05"), (-5, "0:00:00"), (90000, "25:00:00")],
)
def test_clock(seconds: float, text: str) -> None:
    assert clock(seconds) == text


def test_sentence_and_capitalized() -> None:
    assert sentence("  training failed: loss became NaN ") == "Training failed: loss became NaN."
    assert sentence("done.") == "Done." and sentence("why?") == "Why?"
    assert sentence("see (the log)") == "See (the log)"
    assert sentence("") == ""
    assert capitalized("epochs must be at least 1") == "Epochs must be at least 1"
    assert capitalized("eTA") == "ETA" and capitalized("") == ""


def test_window_title_has_the_modified_placeholder() -> None:
    assert window_title("lenet") == "lenet[*] — Model Workbench"


def test_model_stats_counts_layers_in_number() -> None:
    assert model_stats(1, 10, 0) == "1 layer · 10 params · errors: 0"
    assert model_stats(0, 0, 0) == "0 layers · 0 params · errors: 0"
    assert model_stats(7, 61_706, 2) == "7 layers · 61.7 k params · errors: 2"


def test_selection_status() -> None:
    types = {"conv1": "Conv2d", "fc": "Linear"}
    assert selection_status(["conv1"], types) == "Selected conv1 (Conv2d)"
    assert selection_status(["conv1", "fc"], types) == "2 layers selected"
    assert selection_status([], types) == ""
    assert selection_status(["gone"], types) == ""  # a node that is no longer there


def test_is_selection_status_recognises_only_selection_lines() -> None:
    types = {"a": "ReLU", "b": "ReLU"}
    assert is_selection_status(selection_status(["a"], types))
    assert is_selection_status(selection_status(["a", "b"], types))
    assert not is_selection_status("Opened /tmp/net.wbproj")
    assert not is_selection_status("")


def test_recent_label_shows_name_then_folder(tmp_path: Path) -> None:
    path = tmp_path / "nets" / "lenet.wbproj"
    assert recent_label(str(path)) == f"lenet.wbproj  —  {path.parent}"


def test_undo_and_redo_name_the_edit_they_would_undo_or_redo() -> None:
    assert history_action_text("Undo", "Set Units") == "&Undo Set Units"
    assert history_action_text("Redo", "Add Dropout") == "&Redo Add Dropout"
    assert history_action_text("Undo", "") == "&Undo"


def test_errors_tooltip_lists_the_errors_or_says_there_are_none() -> None:
    assert errors_tooltip(["a is wrong", "b is wrong"]) == "a is wrong\nb is wrong"
    assert errors_tooltip([]) == "The model has no errors"


def test_find_layer_choices_give_back_the_layer_id() -> None:
    choice = layer_choice("relu_3", "ReLU")
    assert choice == "relu_3 — ReLU"
    assert chosen_layer(choice) == "relu_3"
    assert chosen_layer("conv") == "conv"  # typed, not picked: looked up as it is


def test_the_window_questions_name_the_project() -> None:
    question, detail = save_changes_prompt("digits")
    assert question == "Save the changes to “digits”?"
    assert "lost" in detail
    assert STOP_TRAINING_PROMPT.endswith("Stop the run and close?")


# --- the builder canvas -------------------------------------------------------------------


def test_a_layer_box_shows_its_shape_and_params() -> None:
    assert shape_label(None) == "shape unknown"
    assert shape_label(TensorSpec((16,))) == "(N, 16)"
    assert params_label(0) == ""
    assert params_label(336) == "336 params"
    assert params_label(61_706) == "61.7 k params"


def test_node_tooltip_shows_errors_else_warnings_else_what_the_layer_is() -> None:
    error = Issue("a", "needs a Flatten", "error")
    warning = Issue("a", "not connected", "warning")
    assert node_tooltip("Linear", "doc", "(N, 4)", 20, [warning, error]) == "needs a Flatten"
    assert node_tooltip("Linear", "doc", "(N, 4)", 20, [warning]) == "not connected"
    assert node_tooltip("Linear", "Dense layer", "(N, 4)", 1234, []) == (
        "Linear: Dense layer\nOutput: (N, 4)\n1,234 params"
    )
    assert node_tooltip("ReLU", "max(0, x)", "(N, 4)", 0, []) == "ReLU: max(0, x)\nOutput: (N, 4)"


def test_port_and_edge_tooltips() -> None:
    assert input_port_tooltip(0, 1) == "input\nDrag to an output to connect"
    assert input_port_tooltip(1, 2) == "input 2\nDrag to an output to connect"
    assert output_port_tooltip("(N, 8)") == "output (N, 8)\nDrag to an input to connect"
    assert edge_tooltip("a", "b", "(N, 8)") == "a \u2192 b  (N, 8)"
    assert edge_tooltip("a", "b", "") == ""
    assert edge_tooltip("a", "b", "(N, 8)", "shapes do not fit") == "shapes do not fit"


def test_canvas_command_labels_count_what_they_act_on() -> None:
    assert many_label("Delete", 1) == "Delete"
    assert many_label("Duplicate", 3) == "Duplicate 3 Layers"
    assert delete_label(["relu_1"], 0) == "Delete relu_1"
    assert delete_label(["a", "b"], 1) == "Delete 2 layers"
    assert delete_label([], 1) == "Delete connection"
    assert delete_label([], 2) == "Delete connections"
    assert duplicate_label(["relu_1"]) == "Duplicate relu_1"
    assert duplicate_label(["a", "b", "c"]) == "Duplicate 3 layers"


def test_delete_status_says_what_was_joined_or_why_not() -> None:
    made = [Edge("linear_1", "output_1"), Edge("linear_1", "side")]
    assert delete_status("Delete relu_1", made, []) == (
        "Delete relu_1; reconnected linear_1 \u2192 output_1, linear_1 \u2192 side"
    )
    assert delete_status("Delete x", made, ["no fit", "no room"]) == "Delete x: no fit; no room"
    assert delete_status("Delete x", [], []) == ""


def test_canvas_status_lines() -> None:
    assert copied_status(1) == "Copied 1 layer"
    assert copied_status(1200) == "Copied 1200 layers"
    assert no_match_status("  conv ") == "No layer on the canvas matches \u201cconv\u201d"
    assert EMPTY_CANVAS_HINT and CLIPBOARD_NOT_LAYERS
