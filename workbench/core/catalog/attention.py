"""Layer types: attention (see base.LayerType)."""

from __future__ import annotations

LAYERS: list = []
