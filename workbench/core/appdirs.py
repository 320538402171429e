"""Where the application's own files are, whether it runs from source or as a frozen bundle.

A PyInstaller bundle unpacks the package's data (resources, the standalone training
modules that the Python export copies) under ``sys._MEIPASS``; from source they sit
beside the modules. Everything that opens one of these files asks :func:`package_dir`.
The crash log's folder is here too, beside the settings and cache folders' rules.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "ModelWorkbench"


def is_frozen() -> bool:
    """True inside a bundle made by PyInstaller (the installers' application)."""
    return bool(getattr(sys, "frozen", False))


def package_dir() -> Path:
    """The ``workbench`` package's folder: in the bundle's data folder when frozen."""
    base = getattr(sys, "_MEIPASS", None)
    if is_frozen() and base:
        return Path(base) / "workbench"
    return Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    """A file under ``workbench/resources`` (the user guide, the icons)."""
    return package_dir().joinpath("resources", *parts)


def standalone_dir() -> Path:
    """The folder of the standalone training modules (``train*.py``) an export copies."""
    return package_dir() / "standalone"


def log_dir() -> Path:
    """The folder for crash logs: ``WORKBENCH_LOG_DIR``, or the platform's user log folder."""
    env = os.environ.get("WORKBENCH_LOG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
