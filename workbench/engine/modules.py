"""Small torch modules that the catalog's builders use where torch has no direct match.

Each is called as ``module(*inputs)`` like every layer in the compiled graph. All of
them trace with ``torch.export``: shapes they need are fixed when they are built, and
their forward passes have no data-dependent Python control flow.

The catalog (in the core, below the engine) never imports this module: its builders
name these classes with :func:`~workbench.core.catalog.engine_module.engine_module`,
and :func:`build_layer` makes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from workbench.core.catalog import LayerType, TensorSpec
from workbench.core.catalog.engine_module import EngineModule


class Add(nn.Module):
    """Element-wise sum of all inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    """Joins all inputs along one axis (the batch axis is 0)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Reshape(nn.Module):
    """Reshapes every sample to a fixed shape; the batch axis is kept."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape((x.shape[0], *self.shape))

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class GlobalAvgPool(nn.Module):
    """Mean over a fixed set of axes, e.g. (2, 3) for images or (1,) for sequences."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Recurrent(nn.Module):
    """An ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (batch first) returning only its outputs.

    With ``last`` it returns the output for the final time step, ``(N, H * dirs)``. For a
    bidirectional layer that is the forward direction's output at the last step joined
    with the backward direction's output at the first step (where the backward pass
    ends), so both halves have seen the whole sequence.
    """

    def __init__(self, rnn: nn.RNNBase, last: bool) -> None:
        super().__init__()
        self.rnn = rnn
        self.last = last
        self.hidden = rnn.hidden_size
        self.bidirectional = rnn.bidirectional

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        if not self.last:
            return out
        if self.bidirectional:
            h = self.hidden
            return torch.cat((out[:, -1, :h], out[:, 0, h:]), dim=1)
        return out[:, -1, :]

    def extra_repr(self) -> str:
        return f"output={'last' if self.last else 'sequence'}"


class SelfAttention(nn.Module):
    """Multi-head self-attention (query = key = value = input) returning only the output."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.attn(x, x, x, need_weights=False)
        return out


def sinusoidal_table(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """The fixed (length, dim) sine/cosine position table of "Attention Is All You Need".

    Even columns hold ``sin(pos * div)``, odd ones ``cos(pos * div)``. Written with
    ``stack`` and ``reshape`` (no in-place slice assignment), so a model that computes it
    from its input's length exports to ONNX with a symbolic sequence axis.
    """
    pos = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    div = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim)
    )
    angles = pos * div
    return torch.stack((torch.sin(angles), torch.cos(angles)), dim=-1).reshape(length, -1)[:, :dim]


class PositionalEncoding(nn.Module):
    """Adds a position signal to a sequence (N, T, E), then applies dropout.

    ``sinusoidal`` adds the fixed sine/cosine table, computed for the input's own length
    (nothing is trained or saved, and any sequence length works); ``learned`` adds a
    trainable (T, E) table initialised with small random values, which fixes T at most
    at the table's length.
    """

    def __init__(
        self, length: int, dim: int, kind: str = "sinusoidal", dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.kind = kind
        self.length = length
        self.dim = dim
        if kind == "learned":
            self.table = nn.Parameter(torch.randn(length, dim) * 0.02)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "learned":
            return self.dropout(x + self.table[: x.shape[1]])
        return self.dropout(x + sinusoidal_table(x.shape[1], self.dim, x.device).to(x.dtype))

    def extra_repr(self) -> str:
        return f"kind={self.kind}, length={self.length}, dim={self.dim}"


def build_layer(
    layer: LayerType, params: Mapping[str, Any], inputs: Sequence[TensorSpec]
) -> nn.Module:
    """The torch module of one node: the catalog's builder, with a named module made here."""
    built = layer.build(params, inputs)
    if isinstance(built, EngineModule):
        cls = globals().get(built.name)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise LookupError(
                f"{layer.name}: workbench.engine.modules has no module class {built.name!r}"
            )
        built = cls(*built.args, **built.kwargs)
    if not isinstance(built, nn.Module):
        raise TypeError(
            f"{layer.name}: the builder returned {type(built).__name__}, not a torch module"
        )
    return built
