"""Small torch modules that the catalog's builders use where torch has no direct match.

Each is called as ``module(*inputs)`` like every layer in the compiled graph. All of
them trace with ``torch.export``: shapes they need are fixed when they are built, and
their forward passes have no data-dependent Python control flow.
"""

from __future__ import annotations

import math

import torch
from torch import nn


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


def sinusoidal_table(length: int, dim: int) -> torch.Tensor:
    """The fixed (length, dim) sine/cosine position table of "Attention Is All You Need"."""
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * div)
    table[:, 1::2] = torch.cos(pos * div[: dim // 2])
    return table


class PositionalEncoding(nn.Module):
    """Adds a position signal to a sequence (N, T, E), then applies dropout.

    ``sinusoidal`` adds a fixed table (a buffer, not trained and not saved); ``learned``
    adds a trainable (T, E) table initialised with small random values.
    """

    def __init__(self, length: int, dim: int, kind: str = "sinusoidal", dropout: float = 0.0) -> None:
        super().__init__()
        self.kind = kind
        if kind == "learned":
            self.table = nn.Parameter(torch.randn(length, dim) * 0.02)
        else:
            self.register_buffer("table", sinusoidal_table(length, dim), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.table)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, length={self.table.shape[0]}, dim={self.table.shape[1]}"
