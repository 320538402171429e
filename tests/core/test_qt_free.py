"""The core never imports Qt: every module outside workbench/ui loads without PySide6."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import workbench

QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph")


def non_ui_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(workbench.__path__, "workbench."):
        if info.name == "workbench.ui" or info.name.startswith("workbench.ui."):
            continue
        names.append(info.name)
    return names


def test_there_are_core_modules_to_check() -> None:
    names = non_ui_modules()
    assert "workbench.core.graph" in names and "workbench.cli" in names
    assert "workbench.engine.compiler" in names


def test_no_qt_outside_ui_in_a_fresh_interpreter() -> None:
    names = non_ui_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r})\n"
        "print('QT:' + ','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "QT:", out.stdout


def test_core_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import workbench.core.catalog, workbench.core.shapes, workbench.core.project\n"
        "import workbench.core.templates, workbench.core.document, workbench.cli\n"
        "import workbench.core.export_check, workbench.export.service, workbench.export.report\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
