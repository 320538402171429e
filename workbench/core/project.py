"""The ``.wbproj`` project file: versioned JSON, strict loading, migrations, atomic save.

A project file is data only. :func:`load_project` either returns a :class:`Project` or
raises :class:`ProjectError` with one line saying what is wrong; nothing else escapes.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.fileio import (
    atomic_write_text,
    os_error_text,
    process_alive,
    remove_stale_temporaries,
)
from workbench.core.graph import Graph, GraphError

SCHEMA_VERSION = 1
SUFFIX = ".wbproj"
MAX_FILE_BYTES = 64 * 1024 * 1024
#: A project ``net.wbproj`` keeps its runs in ``net.runs/<run-id>/``.
RUNS_SUFFIX = ".runs"

#: The longest stem :func:`slug` makes.
SLUG_LENGTH = 40

#: ``MIGRATIONS[v]`` turns a version ``v`` document into version ``v + 1``.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class ProjectError(ValueError):
    """A project file that cannot be read or written; the message is for the user.

    The message is always one line: names taken from the file (a parameter, a node id)
    may hold line breaks or other control characters, which are shown escaped.
    """

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(str(message)))


def _one_line(text: str) -> str:
    """``text`` with control characters escaped as Python writes them (``\\n``, ``\\x00``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass
class Project:
    """Everything a ``.wbproj`` file holds."""

    name: str = "Untitled"
    graph: Graph = field(default_factory=Graph)
    description: str = ""
    dataset: dict[str, Any] | None = None
    training: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document for this project."""
        return {
            "schema_version": SCHEMA_VERSION,
            "app": "model-workbench",
            "name": self.name,
            "description": self.description,
            "graph": self.graph.to_dict(),
            "dataset": copy.deepcopy(self.dataset),
            "training": copy.deepcopy(self.training),
            "runs": copy.deepcopy(self.runs),
        }

    def copy(self) -> Project:
        """A deep copy."""
        return copy.deepcopy(self)


# --- loading --------------------------------------------------------------------------


def _expect(cond: bool, message: str) -> None:
    if not cond:
        raise ProjectError(message)


def _check_types(doc: dict[str, Any]) -> None:
    _expect(isinstance(doc.get("name", ""), str), "'name' must be a string")
    _expect(isinstance(doc.get("description", ""), str), "'description' must be a string")
    _expect("graph" in doc, "the file has no 'graph'")
    graph = doc["graph"]
    _expect(isinstance(graph, dict), "'graph' must be an object")
    _expect(isinstance(graph.get("nodes"), list), "'graph.nodes' must be a list")
    _expect(isinstance(graph.get("edges"), list), "'graph.edges' must be a list")
    seen_ports: set[tuple[str, int]] = set()
    for i, node in enumerate(graph["nodes"]):
        where = f"graph.nodes[{i}]"
        _expect(isinstance(node, dict), f"{where} must be an object")
        _expect(isinstance(node.get("id"), str), f"{where}.id must be a string")
        _expect(isinstance(node.get("type"), str), f"{where}.type must be a string")
        _expect(isinstance(node.get("params", {}), dict), f"{where}.params must be an object")
        pos = node.get("pos", [0, 0])
        _expect(
            isinstance(pos, list)
            and len(pos) == 2
            and all(
                isinstance(v, int | float) and not isinstance(v, bool) and abs(v) < 1e9 for v in pos
            ),
            f"{where}.pos must be two numbers",
        )
        node.setdefault("params", {})
        node.setdefault("pos", [0, 0])
    for i, edge in enumerate(graph["edges"]):
        where = f"graph.edges[{i}]"
        _expect(isinstance(edge, dict), f"{where} must be an object")
        _expect(
            isinstance(edge.get("src"), str) and isinstance(edge.get("dst"), str),
            f"{where} needs 'src' and 'dst' node ids",
        )
        port = edge.setdefault("port", 0)
        _expect(
            isinstance(port, int) and not isinstance(port, bool) and port >= 0,
            f"{where}.port must be a whole number ≥ 0",
        )
        _expect(
            (edge["dst"], port) not in seen_ports,
            f"{where}: input {port} of '{edge['dst']}' is connected twice",
        )
        seen_ports.add((edge["dst"], port))
    for key, kind in (("dataset", (dict, type(None))), ("training", dict), ("runs", list)):
        if key in doc:
            _expect(isinstance(doc[key], kind), f"'{key}' has the wrong type")
    for i, entry in enumerate(doc.get("runs", [])):
        where = f"runs[{i}]"
        _expect(isinstance(entry, dict), f"{where} must be an object (a run's id, path and status)")
        for key in ("id", "path", "status"):
            _expect(isinstance(entry.get(key, ""), str), f"{where}.{key} must be a string")


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring a document of any supported older version up to :data:`SCHEMA_VERSION`."""
    raw = doc.get("schema_version")
    _expect(
        isinstance(raw, int) and not isinstance(raw, bool),
        "the file has no valid 'schema_version'; is it a Model Workbench project?",
    )
    version = int(raw)  # type: ignore[arg-type]
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"the file was saved by a newer Model Workbench (format {version}; this version reads up to {SCHEMA_VERSION}): update the app"
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ProjectError(f"format {version} is too old to open")
        doc = step(doc)
        version += 1
        doc["schema_version"] = version
    return doc


def project_from_dict(doc: Any) -> Project:
    """Validate and migrate a decoded JSON document into a Project, or raise ProjectError."""
    _expect(isinstance(doc, dict), "the file does not hold a project (expected a JSON object)")
    doc = migrate(copy.deepcopy(doc))
    _check_types(doc)
    try:
        graph = Graph.from_dict(doc["graph"])
    except GraphError as e:
        raise ProjectError(f"the model graph is invalid: {e}") from None
    except (KeyError, TypeError, ValueError) as e:  # a field of the wrong shape deep inside
        raise ProjectError(f"the model graph is malformed ({type(e).__name__}: {e})") from None
    return Project(
        name=doc.get("name", "Untitled"),
        graph=graph,
        description=doc.get("description", ""),
        dataset=doc.get("dataset"),
        training=doc.get("training", {}),
        runs=doc.get("runs", []),
    )


def loads_project(data: bytes | str) -> Project:
    """Parse project file contents; raises ProjectError for anything wrong."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProjectError(
                "the file is not text (not UTF-8): is it a Model Workbench project?"
            ) from None
    if not data.strip():
        raise ProjectError("the file is empty")
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as e:
        raise ProjectError(
            f"the file is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); it may be truncated"
        ) from None
    except RecursionError:
        raise ProjectError("the file is nested too deeply to be a project") from None
    return project_from_dict(doc)


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a ``.wbproj`` file; raises ProjectError naming the file and the problem."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ProjectError(f"{p.name}: the file is too large to be a project ({size} bytes)")
        data = p.read_bytes()
    except ProjectError:
        raise
    except IsADirectoryError:
        raise ProjectError(f"{p}: is a folder, not a project file") from None
    except FileNotFoundError:
        raise ProjectError(f"{p}: no such file") from None
    except OSError as e:
        raise ProjectError(f"{p}: cannot be read ({os_error_text(e)})") from None
    try:
        project = loads_project(data)
    except ProjectError as e:
        raise ProjectError(f"{p.name}: {e}") from None
    remove_leftovers(p)
    return project


def runs_folder(path: str | os.PathLike[str]) -> Path:
    """The folder holding a project's runs: ``net.wbproj`` -> ``net.runs``."""
    p = Path(path)
    return p.with_name(p.stem + RUNS_SUFFIX)


def remove_leftovers(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that killed saves left beside the project and in its runs.

    Called whenever a project is opened (the window and every command go through
    :func:`load_project`). Only our atomic-write temporaries are removed (see
    :func:`~workbench.core.fileio.remove_stale_temporaries`): the project's own beside it,
    any in the runs folders, and none in the folder of a run a live process is training.
    """
    p = Path(path)
    removed = remove_stale_temporaries(p.parent, target=p.name)
    root = runs_folder(p)
    removed += remove_stale_temporaries(root)
    try:
        runs = [d for d in root.iterdir() if d.is_dir()]
    except OSError:
        return removed
    for run in runs:
        try:
            status = json.loads((run / "status.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            status = {}
        if (
            isinstance(status, dict)
            and status.get("status") == "running"
            and process_alive(status.get("pid"))
        ):
            continue  # its trainer may be writing right now
        removed += remove_stale_temporaries(run)
        removed += remove_stale_temporaries(run / "checkpoints")
    return removed


# --- saving ---------------------------------------------------------------------------


def dumps_project(project: Project) -> str:
    """The file contents for ``project``."""
    return json.dumps(project.to_dict(), indent=2, ensure_ascii=False) + "\n"


def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    """Save atomically; raises ProjectError if the file cannot be written."""
    try:
        atomic_write_text(path, dumps_project(project))
    except OSError as e:
        raise ProjectError(f"{path}: cannot be saved ({os_error_text(e)})") from None


# --- file names -----------------------------------------------------------------------


def slug(name: str) -> str:
    """``name`` as a safe file-name stem: runs of other characters become ``_``, at most 40."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:SLUG_LENGTH] or "project"


def project_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a project file: the project suffix is added when it has no suffix."""
    p = Path(path)
    return p if p.suffix else p.with_suffix(SUFFIX)


def suggested_project_file(name: str, folder: str | os.PathLike[str]) -> Path:
    """Where Save first suggests keeping a new project called ``name``: ``folder/<slug>.wbproj``."""
    return Path(folder) / f"{slug(name)}{SUFFIX}"
