"""Layer types: pooling (see base.LayerType)."""

from __future__ import annotations

LAYERS: list = []
