"""The layer catalog: every layer type the builder offers, each described once.

Layer types are declared in the sibling modules and collected here. Adding a layer
type means adding one ``LayerType(...)`` entry to the ``LAYERS`` list of a module.
"""

from __future__ import annotations

from workbench.core.catalog import (
    activations,
    attention,
    convolution,
    core_layers,
    merge,
    normalization,
    pooling,
    recurrent,
)
from workbench.core.catalog.base import (
    LayerType,
    Param,
    ParamError,
    ShapeError,
    TensorSpec,
    format_shape,
)

_MODULES = (
    core_layers,
    convolution,
    pooling,
    normalization,
    recurrent,
    attention,
    activations,
    merge,
)

#: Palette group order.
GROUPS: tuple[str, ...] = (
    "Input & Output",
    "Dense",
    "Convolution",
    "Pooling",
    "Normalization",
    "Regularization",
    "Reshape",
    "Embedding",
    "Recurrent",
    "Attention",
    "Activation",
    "Merge",
)

CATALOG: dict[str, LayerType] = {}
for _module in _MODULES:
    for _layer in _module.LAYERS:
        if _layer.name in CATALOG:  # pragma: no cover - a programming error
            raise RuntimeError(f"layer type {_layer.name} declared twice")
        if _layer.group not in GROUPS:  # pragma: no cover
            raise RuntimeError(f"layer type {_layer.name} has unknown group {_layer.group}")
        CATALOG[_layer.name] = _layer


def get(name: str) -> LayerType:
    """The layer type called ``name``; raises KeyError with a helpful message."""
    try:
        return CATALOG[name]
    except KeyError:
        raise KeyError(f"unknown layer type '{name}'") from None


def by_group() -> dict[str, list[LayerType]]:
    """Layer types grouped for the palette, in palette order."""
    groups: dict[str, list[LayerType]] = {g: [] for g in GROUPS}
    for layer in CATALOG.values():
        groups[layer.group].append(layer)
    return {g: items for g, items in groups.items() if items}


__all__ = [
    "CATALOG",
    "GROUPS",
    "LayerType",
    "Param",
    "ParamError",
    "ShapeError",
    "TensorSpec",
    "by_group",
    "format_shape",
    "get",
]
