"""The catalog names the engine's own modules; the engine makes them (the core never imports it)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from workbench.core.catalog import CATALOG, TensorSpec, get
from workbench.core.catalog.engine_module import EngineModule, engine_module
from workbench.engine import modules
from workbench.engine.modules import build_layer


def test_catalog_builders_name_only_modules_the_engine_has() -> None:
    specs = {
        "Add": [TensorSpec((4,)), TensorSpec((4,))],
        "Concat": [TensorSpec((4,)), TensorSpec((4,))],
    }
    named = set()
    for name in (
        "Add",
        "Concat",
        "Reshape",
        "GlobalAvgPool",
        "LSTM",
        "MultiHeadSelfAttention",
        "PositionalEncoding",
    ):
        layer = get(name)
        params = layer.validate_params({})
        inputs = specs.get(
            name,
            [TensorSpec((8, 4, 4))]
            if name in ("Reshape", "GlobalAvgPool")
            else [TensorSpec((6, 8))],
        )
        built = layer.build(params, inputs)
        assert isinstance(built, EngineModule), name
        named.add(built.name)
        module = build_layer(layer, params, inputs)
        assert type(module) is getattr(modules, built.name)
    assert named == {
        "Add",
        "Concat",
        "Reshape",
        "GlobalAvgPool",
        "Recurrent",
        "SelfAttention",
        "PositionalEncoding",
    }
    assert len(CATALOG) > len(named)


def test_an_unknown_or_non_module_name_is_refused() -> None:
    add = get("Add")
    for bad in ("NoSuchModule", "sinusoidal_table", "math"):
        layer = replace(add, build=lambda p, xs, bad=bad: engine_module(bad))
        with pytest.raises(LookupError, match=bad):
            build_layer(layer, {}, [])
    layer = replace(add, build=lambda p, xs: 42)
    with pytest.raises(TypeError, match="int"):
        build_layer(layer, {}, [])


def test_plain_torch_layers_pass_through() -> None:
    layer = get("Linear")
    module = build_layer(layer, layer.validate_params({"units": 3}), [TensorSpec((5,))])
    assert isinstance(module, torch.nn.Linear)
