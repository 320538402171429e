"""Start the GUI: the QApplication, the main window, and the torch warm-up after first paint."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

    from workbench.ui.window import MainWindow

#: Set to 1 to skip importing torch in the background after the window paints.
NO_WARMUP_ENV = "WORKBENCH_NO_TORCH_WARMUP"
SCREENSHOT_SIZE = (1280, 800)
DEFAULT_TEMPLATE = "lenet"
#: The pages ``--tab`` can open on.
TABS = ("start", "model", "data", "train", "evaluate", "export")
#: How long a screenshot waits for its tab's background work (an evaluation, a scan).
SCREENSHOT_WAIT_S = 600.0


def _import_torch() -> None:
    try:
        import torch  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken torch must not take the GUI down here
        pass  # the features that need torch report the problem when they are used


def start_torch_warmup() -> threading.Thread | None:
    """Import torch on a daemon thread so later features start quickly.

    Returns the thread, or None when ``WORKBENCH_NO_TORCH_WARMUP`` is set.
    """
    if os.environ.get(NO_WARMUP_ENV, "") not in ("", "0"):
        return None
    thread = threading.Thread(target=_import_torch, name="torch-warmup", daemon=True)
    thread.start()
    return thread


def app_icon() -> QIcon:
    """The application's icon in every size it ships (``resources/icons``)."""
    from PySide6.QtGui import QIcon

    from workbench.core.appdirs import resource_path

    icon = QIcon()
    for png in sorted(resource_path("icons").glob("workbench-*.png")):
        icon.addFile(str(png))
    return icon


def show_crash(exc: BaseException, tb: TracebackType | None = None) -> str:
    """Write the crash log, say where on stderr and in a dialog; returns the message."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    from workbench.core.crashlog import crash_message

    message = crash_message(exc, tb)
    if sys.stderr is not None:  # None in a windowed Windows bundle
        print(f"workbench: {message}", file=sys.stderr, flush=True)
    if QApplication.instance() is not None:
        QMessageBox.critical(
            None,
            "Model Workbench: unexpected error",
            f"Something went wrong that Model Workbench did not expect.\n\n{message}\n\n"
            "Your work is autosaved; please include the log file when you report this.",
        )
    return message


def install_crash_dialog() -> Callable[[], None]:
    """Route unexpected exceptions (in slots and event handlers) to :func:`show_crash`.

    Returns a function that puts the previous ``sys.excepthook`` back.
    """
    previous = sys.excepthook
    showing: list[bool] = []

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt) or showing:
            previous(exc_type, exc, tb)  # no dialog over a dialog
            return
        showing.append(True)
        try:
            show_crash(exc, tb)
        finally:
            showing.clear()

    sys.excepthook = hook

    def restore() -> None:
        sys.excepthook = previous

    return restore


def _fail(message: str) -> int:
    print(f"workbench: {message}", file=sys.stderr)
    return 2


def run_gui(
    project: str | None = None,
    screenshot: str | None = None,
    template: str | None = None,
    *,
    tab: str | None = None,
    first_paint_probe: bool = False,
) -> int:
    """Run the GUI and return the exit status.

    Args:
        project: A ``.wbproj`` file to open.
        screenshot: Render the window at 1280x800 to this PNG and return without
            entering the event loop (runs offscreen unless a platform is set).
        template: A template name to start from when no project is given
            (default: the LeNet sample, so a newcomer sees a real model).
        tab: The page to open on (one of :data:`TABS`; default ``model``). With
            ``screenshot``, the picture is taken once that page has finished its
            background work (the Evaluate tab: its evaluation is shown).
        first_paint_probe: For the start-up benchmark: print ``first-paint <epoch
            seconds>`` once the window has painted, then quit (no torch warm-up,
            no questions).
    """
    from workbench.core.templates import TEMPLATES

    if template is not None and template not in TEMPLATES:
        return _fail(f"unknown template '{template}' (known: {', '.join(TEMPLATES)})")
    if tab is not None and tab not in TABS:
        return _fail(f"unknown tab '{tab}' (known: {', '.join(TABS)})")
    if screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from PySide6.QtWidgets import QApplication

    from workbench import __version__
    from workbench.core.document import Document
    from workbench.core.graph import GraphError
    from workbench.core.project import ProjectError
    from workbench.core.templates import make_project
    from workbench.ui.theme import apply_theme
    from workbench.ui.window import MainWindow

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("Model Workbench")
    app.setApplicationDisplayName("Model Workbench")
    app.setOrganizationName("ModelWorkbench")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    if sys.platform.startswith("linux"):
        app.setDesktopFileName("model-workbench")  # the .desktop entry the installers add
    from workbench.core.settings import Settings

    settings = Settings()
    # Light or dark as the user chose in View ▸ Theme, or as the system says.
    apply_theme(app, str(settings.get("theme", "system")))

    open_error: str | None = None
    document: Document | None = None
    if project is not None:
        try:
            document = Document.open(project)
        except ProjectError as e:
            if screenshot:
                return _fail(str(e))
            open_error = str(e)
    if document is None:
        try:
            document = Document(make_project(template or DEFAULT_TEMPLATE))
        except (KeyError, GraphError) as e:
            if screenshot:
                return _fail(f"template '{template or DEFAULT_TEMPLATE}' cannot be built: {e}")
            document = Document()

    window = MainWindow(settings, restore_state=not (screenshot or first_paint_probe))
    window.set_document(document)
    if project is not None and document.path is not None:
        window.settings.add_recent(document.path)
        window.start_page.set_recent(window.settings.recent_files())
    window.show_page(tab or "model")

    if screenshot:
        window.resize(*SCREENSHOT_SIZE)
        window.show()
        for _ in range(3):
            app.processEvents()
        window.canvas.fit_to_view()
        app.processEvents()
        if not _wait_until_ready(window, tab or "model", SCREENSHOT_WAIT_S):
            window.autosave.timer.stop()
            return _fail(f"the {tab} tab did not finish its work within {SCREENSHOT_WAIT_S:.0f} s")
        ok = window.grab().save(str(Path(screenshot)))
        window.autosave.timer.stop()
        window.hide()
        window.deleteLater()
        app.processEvents()
        return 0 if ok else _fail(f"{screenshot}: cannot write the screenshot")

    warmup: list[threading.Thread | None] = []

    def after_first_paint() -> None:
        if first_paint_probe:
            print(f"first-paint {time.time():.6f}", flush=True)
            window.autosave.timer.stop()
            app.quit()
            return
        window.canvas.initial_view()
        warmup.append(start_torch_warmup())
        if open_error is not None:
            window.show_error("Cannot open the project", open_error)
        else:
            window.offer_recovery()

    window.first_painted.connect(after_first_paint)
    window.show()
    restore_hook = install_crash_dialog()
    try:
        status = app.exec()
    finally:
        restore_hook()
    for thread in warmup:
        if thread is not None:
            thread.join(timeout=2.0)  # let a half-done import finish before the interpreter exits
    return int(status)


def tab_ready(window: MainWindow, tab: str) -> bool:
    """True when page ``tab`` has nothing left to do in the background (what a screenshot waits for)."""
    if tab == "data":
        c = window.data_controller
        return not c.is_busy() and not c.tab.preview.thumbnails.is_loading()
    if tab == "train":
        tab_widget = window.train_controller.tab
        return tab_widget.plots is not None and tab_widget.form._device_task is None
    if tab == "evaluate":
        return window.evaluate_controller.is_settled()
    if tab == "export":
        return window.export_controller.runs_loaded
    return True


def _wait_until_ready(window: MainWindow, tab: str, timeout_s: float) -> bool:
    """Run the event loop until ``tab_ready`` and every background task of the window has
    ended (a thread left running when the process exits aborts it), then a few more turns
    to paint; False on timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    from workbench.ui.workers import running_tasks

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    settled = [0]
    timed_out = [False]

    def check() -> None:
        if time.monotonic() > deadline:
            timed_out[0] = True
            loop.quit()
        elif tab_ready(window, tab) and not running_tasks():
            settled[0] += 1
            if settled[0] >= 3:  # ready for a few turns in a row: the last results are drawn
                loop.quit()
        else:
            settled[0] = 0

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    return not timed_out[0]
