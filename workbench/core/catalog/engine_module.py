"""Layers built from the engine's own torch modules, named rather than imported.

Most builders return a plain ``torch.nn`` layer. Where torch has no direct match, the
module is a class in :mod:`workbench.engine.modules`. The core sits below the engine
and never imports it (an import-linter contract checks this), so such a builder
returns ``engine_module("ClassName", *args, **kwargs)`` and the engine makes
``workbench.engine.modules.ClassName(*args, **kwargs)`` when it compiles the graph
(:func:`workbench.engine.modules.build_layer`). A new layer type that needs a new
module thus adds its catalog entry and, beside the others, its ``nn.Module`` class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, eq=False)
class EngineModule:
    """What the engine should build: ``workbench.engine.modules.<name>(*args, **kwargs)``."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def engine_module(name: str, *args: Any, **kwargs: Any) -> EngineModule:
    """Name the :mod:`workbench.engine.modules` class ``name`` and its arguments."""
    return EngineModule(name, args, dict(kwargs))
