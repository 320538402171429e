"""Counts shown to people agree in number with their noun ("1 class", "3 classes")."""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QLabel

from tests.ui.test_data_ui import WAIT_MS, make_image_folder
from workbench.core.text import plural
from workbench.data import open_dataset
from workbench.data.describe import summary_text
from workbench.ui.window import MainWindow


@pytest.fixture
def window(qtbot) -> MainWindow:
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    assert w.new_project("lenet")
    return w


def test_plural_counts():
    assert plural(1, "class") == "1 class"
    assert plural(0, "class") == "0 classes"
    assert plural(1500, "image") == "1,500 images"
    assert plural(2, "more class", "more classes") == "2 more classes"


def test_a_one_class_folder_says_1_class(window, tmp_path, qtbot):
    root = make_image_folder(tmp_path / "one")
    for extra in ("square", "triangle"):
        for f in (root / extra).iterdir():
            f.unlink()
        (root / extra).rmdir()
    info = open_dataset(root).info()
    assert "1 class" in summary_text(info) and "1 classes" not in summary_text(info)
    dialog = window.import_dataset(root)
    qtbot.waitUntil(lambda: not dialog.is_scanning(), timeout=WAIT_MS)
    texts = [lab.text() for lab in dialog.findChildren(QLabel)]
    shown = [t for t in texts if re.search(r"\b1 class", t)]
    assert shown, texts
    assert not [t for t in texts if re.search(r"\b1 (classes|images)\b", t)]
    dialog.reject()
