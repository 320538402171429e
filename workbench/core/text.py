"""Small helpers for the words shown to people: counts with their noun, sizes, titles,
status lines, and what the builder canvas says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.core.graph import Edge
    from workbench.core.shapes import Issue

#: Nouns whose plural is not the singular plus "s".
_IRREGULAR = {"class": "classes", "batch": "batches", "index": "indices", "entry": "entries"}


def plural(n: int | float, noun: str, plural_form: str | None = None, *, sep: str = ",") -> str:
    """``n`` followed by ``noun`` in the right number: "1 class", "3 classes", "1,500 images".

    Args:
        n: The count.
        noun: The singular noun.
        plural_form: The plural when it is not ``noun + "s"`` (common ones are known).
        sep: The thousands separator format ("," or "" for none).
    """
    word = noun if n == 1 else plural_form or _IRREGULAR.get(noun, noun + "s")
    number = format(n, sep) if isinstance(n, int) else f"{n:{sep}g}"
    return f"{number} {word}"


#: The application's name as windows and dialogs show it.
APP_NAME = "Model Workbench"


def first_line(e: BaseException) -> str:
    """An error's first line for a message, or its type's name when it says nothing."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def human_count(n: float) -> str:
    """``1234567`` → ``'1.2 M'``; small numbers stay exact."""
    n = float(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)}"


def human_flops(n: float) -> str:
    """``3.4e9`` → ``'3.4 GFLOPs'``."""
    n = float(n)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}FLOPs"
    return f"{int(n)} FLOPs"


def human_bytes(n: float) -> str:
    """``1536`` → ``'1.5 KB'`` (binary units, labelled the way most people read them)."""
    n = float(n)
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def clock(seconds: float) -> str:
    """A duration as a clock shows it: ``3725`` → ``'1:02:05'`` (whole seconds, never negative)."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def capitalized(text: str) -> str:
    """``text`` with its first letter upper-case and the rest as it was (error messages)."""
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """``text`` as a sentence: stripped, capitalized, ending in a full stop unless it ends
    in one already (or in ``!``, ``?`` or ``)``)."""
    text = text.strip()
    if text and text[-1] not in ".!?)":
        text += "."
    return capitalized(text)


def window_title(document_name: str) -> str:
    """The main window's title; ``[*]`` is where the window shows its unsaved-changes mark."""
    return f"{document_name}[*] — {APP_NAME}"


def model_stats(layers: int, total_params: int, errors: int) -> str:
    """The status bar's summary of a model: "3 layers · 1.2 k params · errors: 0"."""
    noun = "layer" if layers == 1 else "layers"
    return f"{layers} {noun} · {human_count(total_params)} params · errors: {errors}"


def selection_status(ids: Sequence[str], node_types: Mapping[str, str]) -> str:
    """The status line for a canvas selection, or "" when there is nothing to say.

    Args:
        ids: The selected node ids.
        node_types: Each node id's layer type.
    """
    if len(ids) == 1 and ids[0] in node_types:
        return f"Selected {ids[0]} ({node_types[ids[0]]})"
    if len(ids) > 1:
        return f"{len(ids)} layers selected"
    return ""


def is_selection_status(message: str) -> bool:
    """Whether ``message`` is one :func:`selection_status` wrote (so a new selection clears it)."""
    return message.startswith("Selected ") or message.endswith(" selected")


# --- the builder canvas -------------------------------------------------------------------

#: What an empty canvas says.
EMPTY_CANVAS_HINT = "Drag layers here from the palette"
#: Why a paste did nothing.
CLIPBOARD_NOT_LAYERS = "The clipboard does not hold layers that can be pasted"


def shape_label(output: object | None) -> str:
    """A layer's output shape as its box shows it ("shape unknown" when inference has none)."""
    return str(output) if output is not None else "shape unknown"


def params_label(n_params: int) -> str:
    """A layer's parameter count as its box shows it: "1.2 k params", or "" for none."""
    return f"{human_count(n_params)} params" if n_params else ""


def node_tooltip(
    type_name: str, doc: str, shape: str, n_params: int, issues: Sequence[Issue]
) -> str:
    """A layer box's tooltip: its errors, else its warnings, else what it is and makes.

    Args:
        type_name: The layer type.
        doc: The layer type's one-line description.
        shape: The output shape as :func:`shape_label` words it.
        n_params: The layer's parameter count.
        issues: The issues pinned to the layer.
    """
    errors = [i.message for i in issues if i.severity == "error"]
    warnings = [i.message for i in issues if i.severity != "error"]
    if errors or warnings:
        return "\n".join(errors or warnings)
    tip = f"{type_name}: {doc}\nOutput: {shape}"
    if n_params:
        tip += f"\n{n_params:,} params"
    return tip


def input_port_tooltip(index: int, count: int) -> str:
    """The tooltip of input ``index`` (from 0) of a layer with ``count`` inputs."""
    name = f"input {index + 1}" if count > 1 else "input"
    return f"{name}\nDrag to an output to connect"


def output_port_tooltip(shape: str) -> str:
    """The tooltip of a layer's output port; ``shape`` as :func:`shape_label` words it."""
    return f"output {shape}\nDrag to an input to connect"


def edge_tooltip(src: str, dst: str, shape: str, error: str | None = None) -> str:
    """A connection's tooltip: its error, else its ends and the shape it carries ("" when
    the shape is not known)."""
    if error:
        return error
    return f"{src} \u2192 {dst}  {shape}" if shape else ""


def many_label(command: str, count: int) -> str:
    """A menu command on the selection: "Delete", or "Delete 3 Layers" for several."""
    return f"{command} {count} Layers" if count > 1 else command


def delete_label(node_ids: Sequence[str], n_edges: int) -> str:
    """The undo label of deleting layers, or (with no layers) connections."""
    if node_ids:
        return f"Delete {node_ids[0]}" if len(node_ids) == 1 else f"Delete {len(node_ids)} layers"
    return "Delete connection" if n_edges == 1 else "Delete connections"


def delete_status(label: str, made: Sequence[Edge], notes: Sequence[str]) -> str:
    """The status line after a delete: why neighbours were not joined, else which were
    (see :func:`workbench.core.edits.remove_and_reconnect`); "" when there is nothing to say."""
    if notes:
        return f"{label}: " + "; ".join(notes)
    if made:
        joined = ", ".join(f"{e.src} \u2192 {e.dst}" for e in made)
        return f"{label}; reconnected {joined}"
    return ""


def duplicate_label(node_ids: Sequence[str]) -> str:
    """The undo label of duplicating layers."""
    return f"Duplicate {node_ids[0]}" if len(node_ids) == 1 else f"Duplicate {len(node_ids)} layers"


def copied_status(count: int) -> str:
    """The status line after copying ``count`` layers."""
    return f"Copied {plural(count, 'layer', sep='')}"


def no_match_status(text: str) -> str:
    """The status line when no layer matches a search for ``text``."""
    return f"No layer on the canvas matches \u201c{text.strip()}\u201d"


def recent_label(path: str) -> str:
    """A recent project as a menu shows it: the file's name, then its folder."""
    p = Path(path)
    return f"{p.name}  —  {p.parent}"


def history_action_text(verb: str, label: str) -> str:
    """Edit ▸ Undo or Redo as the menu shows it: "&Undo Set Units", or "&Undo" with no label.

    Args:
        verb: "Undo" or "Redo".
        label: The edit it would undo or redo; "" when there is none.
    """
    return f"&{verb} {label}" if label else f"&{verb}"


def errors_tooltip(messages: Sequence[str]) -> str:
    """The tooltip of the status bar's model summary: one error a line, or that there is none."""
    return "\n".join(messages) or "The model has no errors"


#: Between a layer's id and its type in View ▸ Find Layer's list.
_CHOICE_SEP = " — "


def layer_choice(node_id: str, type_name: str) -> str:
    """A layer as View ▸ Find Layer lists it: "relu_3 — ReLU"."""
    return f"{node_id}{_CHOICE_SEP}{type_name}"


def chosen_layer(answer: str) -> str:
    """What to find for a Find Layer answer: the id of a listed layer, or the text as typed."""
    return answer.split(_CHOICE_SEP)[0]


def save_changes_prompt(name: str) -> tuple[str, str]:
    """The question before unsaved changes to the project ``name`` go: (question, detail)."""
    return (
        f"Save the changes to “{name}”?",
        "Your changes will be lost if you don't save them.",
    )


#: The question when the window is closed while a model trains.
STOP_TRAINING_PROMPT = "A model is training. Stop the run and close?"


__all__ = [
    "first_line",
    "APP_NAME",
    "STOP_TRAINING_PROMPT",
    "capitalized",
    "chosen_layer",
    "clock",
    "errors_tooltip",
    "history_action_text",
    "CLIPBOARD_NOT_LAYERS",
    "EMPTY_CANVAS_HINT",
    "copied_status",
    "delete_label",
    "delete_status",
    "duplicate_label",
    "edge_tooltip",
    "human_bytes",
    "human_count",
    "human_flops",
    "input_port_tooltip",
    "is_selection_status",
    "layer_choice",
    "many_label",
    "model_stats",
    "no_match_status",
    "node_tooltip",
    "output_port_tooltip",
    "params_label",
    "plural",
    "recent_label",
    "save_changes_prompt",
    "selection_status",
    "sentence",
    "shape_label",
    "window_title",
]
