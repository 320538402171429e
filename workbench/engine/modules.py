"""Small torch modules that the catalog's builders use where torch has no direct match.

Each is called as ``module(*inputs)`` like every layer in the compiled graph.
"""

from __future__ import annotations

import torch
from torch import nn


class Add(nn.Module):
    """Element-wise sum of all inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out
