"""The window's questions to the user: one modal dialog each, and the answer as plain data.

The window asks every one of them through a small ``_ask_…`` method of its own, which
tests replace; the wording comes from ``core.text`` and ``core.autosave``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from workbench.core.autosave import recovery_prompt
from workbench.core.project import SUFFIX, project_file
from workbench.core.text import APP_NAME, STOP_TRAINING_PROMPT, save_changes_prompt

SaveChoice = Literal["save", "discard", "cancel"]
RecoverChoice = Literal["recover", "discard", "later"]

#: The file dialogs' filters.
PROJECT_FILTER = f"Model Workbench projects (*{SUFFIX})"
DATASET_FILTER = "Datasets (*.csv *.tsv *.txt *.parquet *.npz *.npy);;All files (*)"


def ask_save_changes(parent: QWidget, name: str) -> SaveChoice:
    """Ask Save / Discard / Cancel about unsaved changes to the project ``name``."""
    question, detail = save_changes_prompt(name)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(APP_NAME)
    box.setText(question)
    box.setInformativeText(detail)
    box.setStandardButtons(
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return "save"
    if answer == QMessageBox.StandardButton.Discard:
        return "discard"
    return "cancel"


def ask_recover(parent: QWidget, entry: dict[str, Any]) -> RecoverChoice:
    """Ask whether to recover the autosaved project ``entry`` left by a crash."""
    what, offer = recovery_prompt(entry)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Recover unsaved work")
    box.setText(what)
    box.setInformativeText(offer)
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(recover)
    box.exec()
    clicked = box.clickedButton()
    if clicked is recover:
        return "recover"
    if clicked is discard:
        return "discard"
    return "later"


def ask_open_path(parent: QWidget, start_dir: str) -> str | None:
    """Ask for a project file to open."""
    path, _ = QFileDialog.getOpenFileName(
        parent, "Open project", start_dir, f"{PROJECT_FILTER};;All files (*)"
    )
    return path or None


def ask_save_path(parent: QWidget, suggested: Path) -> str | None:
    """Ask where to save the project, starting at ``suggested``."""
    path, _ = QFileDialog.getSaveFileName(parent, "Save project", str(suggested), PROJECT_FILTER)
    return str(project_file(path)) if path else None


def ask_stop_training(parent: QWidget) -> bool:
    """Ask whether to stop the training run so the window can close."""
    answer = QMessageBox.question(
        parent,
        APP_NAME,
        STOP_TRAINING_PROMPT,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def ask_dataset_path(parent: QWidget, folder: bool, start_dir: str) -> str | None:
    """Ask for a dataset: an image folder (``folder``) or a table/array file."""
    if folder:
        path = QFileDialog.getExistingDirectory(parent, "Import image folder", start_dir)
    else:
        path, _ = QFileDialog.getOpenFileName(parent, "Import dataset", start_dir, DATASET_FILTER)
    return path or None


def ask_find_layer(parent: QWidget, choices: list[str]) -> str | None:
    """Ask which layer to find (typed or picked from ``choices``)."""
    text, ok = QInputDialog.getItem(parent, "Find Layer", "Layer (name or type):", choices, 0, True)
    return text if ok and text else None


def ask_delete_runs(parent: QWidget, names: list[str]) -> bool:
    """Ask whether to delete these training runs (their folders go too)."""
    from workbench.engine.history_wording import delete_question

    question, detail = delete_question(names)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Delete runs" if len(names) > 1 else "Delete run")
    box.setText(question)
    box.setInformativeText(detail)
    delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is delete
