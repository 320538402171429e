"""Export rewrites for layers the ONNX exporter handles badly.

``nn.RNN`` (tanh or ReLU): torch.export specialises the sequence length of
``aten.rnn_tanh``/``aten.rnn_relu`` (their shape rule unrolls the steps) and the ONNX
exporter then unrolls the loop, so the exported graph only takes the traced length.
For export, each plain RNN inside a :class:`~workbench.engine.modules.Recurrent` is
swapped for :class:`ExportRNN`, which calls the custom op ``workbench::rnn`` (the same
``_VF.rnn_*`` kernel, with a symbolic shape rule) that :data:`TRANSLATIONS` writes as the
ONNX ``RNN`` operator: the sequence axis stays symbolic. GRU and LSTM need nothing; the
exporter maps them to ONNX ``GRU``/``LSTM`` already.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from onnxscript import opset18
from torch import nn

from workbench.engine.modules import Recurrent

op: Any = opset18  # onnxscript's typed signatures do not fit values traced at export time


@torch.library.custom_op("workbench::rnn", mutates_args=())
def rnn(
    x: torch.Tensor,
    params: list[torch.Tensor],
    hidden: int,
    num_layers: int,
    bidirectional: bool,
    relu: bool,
) -> torch.Tensor:
    """A batch-first Elman RNN's outputs (N, T, hidden * directions), from zero state."""
    dirs = 2 if bidirectional else 1
    hx = torch.zeros(num_layers * dirs, x.shape[0], hidden, dtype=x.dtype, device=x.device)
    kernel = torch._VF.rnn_relu if relu else torch._VF.rnn_tanh
    has_biases = len(params) == 4 * num_layers * dirs
    out, _ = kernel(x, hx, params, has_biases, num_layers, 0.0, False, bidirectional, True)
    return out.clone()


@rnn.register_fake
def _rnn_fake(
    x: torch.Tensor,
    params: list[torch.Tensor],
    hidden: int,
    num_layers: int,
    bidirectional: bool,
    relu: bool,
) -> torch.Tensor:
    return x.new_empty(x.shape[0], x.shape[1], hidden * (2 if bidirectional else 1))


def _onnx_rnn(
    x: Any, params: Any, hidden: int, num_layers: int, bidirectional: bool, relu: bool
) -> Any:
    """``workbench::rnn`` as ONNX ``RNN`` operators, one per layer (seq-first inside)."""
    dirs = 2 if bidirectional else 1
    per_dir = 4 if len(params) == 4 * num_layers * dirs else 2
    activation = "Relu" if relu else "Tanh"
    current = op.Transpose(x, perm=[1, 0, 2])
    for layer in range(num_layers):
        ws, rs, bs = [], [], []
        for d in range(dirs):
            base = (layer * dirs + d) * per_dir
            ws.append(op.Unsqueeze(params[base], [0]))
            rs.append(op.Unsqueeze(params[base + 1], [0]))
            if per_dir == 4:  # ONNX wants [Wb, Rb] joined per direction
                bs.append(op.Unsqueeze(op.Concat(params[base + 2], params[base + 3], axis=0), [0]))
        w = op.Concat(*ws, axis=0) if dirs > 1 else ws[0]
        r = op.Concat(*rs, axis=0) if dirs > 1 else rs[0]
        attrs: dict[str, Any] = {
            "direction": "bidirectional" if bidirectional else "forward",
            "hidden_size": hidden,
            "activations": [activation] * dirs,
        }
        if bs:
            y, _ = op.RNN(current, w, r, op.Concat(*bs, axis=0) if dirs > 1 else bs[0], **attrs)
        else:
            y, _ = op.RNN(current, w, r, **attrs)
        y = op.Transpose(y, perm=[0, 2, 1, 3])  # (T, dirs, N, H) -> (T, N, dirs, H)
        current = op.Reshape(
            y, op.Concat(op.Shape(y, start=0, end=2), op.Constant(value_ints=[-1]), axis=0)
        )
    return op.Transpose(current, perm=[1, 0, 2])


#: Passed to ``torch.onnx.export(custom_translation_table=...)``.
TRANSLATIONS: dict[Any, Callable[..., Any]] = {torch.ops.workbench.rnn.default: _onnx_rnn}


class ExportRNN(nn.Module):
    """Stands in for an ``nn.RNN`` (batch first) during export; same parameters, same outputs."""

    def __init__(self, rnn_module: nn.RNN) -> None:
        super().__init__()
        self.rnn = rnn_module
        self.relu = rnn_module.nonlinearity == "relu"

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        r = self.rnn
        params = [getattr(r, name) for name in r._flat_weights_names]
        return rnn(x, params, r.hidden_size, r.num_layers, r.bidirectional, self.relu), None


def make_exportable(model: nn.Module) -> int:
    """Swap, in place, what the exporter would unroll; returns the number of layers swapped."""
    swapped = 0
    for m in model.modules():
        if isinstance(m, Recurrent) and type(m.rnn) is nn.RNN and m.rnn.batch_first:
            m.rnn = ExportRNN(m.rnn)  # type: ignore[assignment]
            swapped += 1
    return swapped


class Destandardize(nn.Module):
    """A regression model that learned standardized targets, answering in the targets' units.

    ``forward(x) = model(x) * std + mean``: what every export of such a model computes,
    so an exported file predicts prices in currency, not in standard deviations.
    """

    def __init__(self, model: nn.Module, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) * self.std + self.mean
