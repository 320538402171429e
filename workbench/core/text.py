"""Small helpers for the words shown to people: counts with their noun, sizes, titles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

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
    "APP_NAME",
    "STOP_TRAINING_PROMPT",
    "capitalized",
    "chosen_layer",
    "clock",
    "errors_tooltip",
    "history_action_text",
    "human_bytes",
    "human_count",
    "human_flops",
    "is_selection_status",
    "layer_choice",
    "model_stats",
    "plural",
    "recent_label",
    "save_changes_prompt",
    "selection_status",
    "sentence",
    "window_title",
]
