"""Layer types: convolution (see base.LayerType)."""

from __future__ import annotations

LAYERS: list = []
