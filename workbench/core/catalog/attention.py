"""Layer types: attention (see base.LayerType)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workbench.core.catalog.base import (
    LayerCode,
    LayerType,
    Param,
    ShapeError,
    TensorSpec,
    changed,
    code_call,
    module_code,
    require_float,
    require_rank,
)

P = Mapping[str, Any]
S = Sequence[TensorSpec]


# --- the layers' code in an exported model.py (see base.LayerCode) --------------------


def _mhsa_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    kw = {"dropout": p["dropout"]} if p["dropout"] else {}
    init = code_call(
        "nn.MultiheadAttention", xs[0].shape[-1], p["num_heads"], **kw, batch_first=True
    )
    forward = ("{out}, _ = self.{attr}({x}, {x}, {x}, need_weights=False)",)
    # The workbench's module wraps the torch one as .attn (model.py does not).
    return LayerCode(init, forward, state_prefix="attn.")


def _encoder_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    kw: dict[str, Any] = {"dim_feedforward": p["dim_feedforward"], "dropout": p["dropout"]}
    kw.update(changed(p, activation="relu"))
    kw["batch_first"] = True
    kw.update(changed(p, norm_first=False))
    return module_code("TransformerEncoderLayer", xs[0].shape[-1], p["num_heads"], **kw)


#: The class model.py gets for a PositionalEncoding layer.
_POSITIONAL_ENCODING = '''
class PositionalEncoding(nn.Module):
    """Adds a position signal to a sequence (N, T, E), then applies dropout.

    "sinusoidal" adds the fixed sine/cosine table of "Attention Is All You Need" (a buffer,
    not trained and not saved with the weights); "learned" adds a trained (T, E) table.
    """

    def __init__(
        self, length: int, dim: int, kind: str = "sinusoidal", dropout: float = 0.0
    ) -> None:
        super().__init__()
        if kind == "learned":
            self.table = nn.Parameter(torch.randn(length, dim) * 0.02)
        else:
            position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
            step = torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim)
            div = torch.exp(step)
            table = torch.zeros(length, dim)
            table[:, 0::2] = torch.sin(position * div)
            table[:, 1::2] = torch.cos(position * div[: dim // 2])
            self.register_buffer("table", table, persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.table)
'''


def _pe_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    kw = changed(p, kind="sinusoidal", dropout=0.0)
    return LayerCode(
        code_call("PositionalEncoding", *xs[0].shape, **kw),
        helper="PositionalEncoding",
        helper_source=_POSITIONAL_ENCODING,
        imports=("math",),
    )


def require_sequence(layer: str, x: TensorSpec) -> None:
    """Float (N, T, E) input, or a ShapeError with a fix."""
    require_float(layer, x)
    fix = "use a Reshape to (T, E) or an Embedding" if x.rank == 2 else "use a Reshape to (T, E)"
    require_rank(layer, x, (3,), "a sequence (N, T, E)", fix)


def _divisors(n: int, limit: int = 8) -> str:
    ds = [d for d in range(1, n + 1) if n % d == 0][:limit]
    return ", ".join(map(str, ds[:-1])) + f" or {ds[-1]}" if len(ds) > 1 else str(ds[0])


def require_heads(layer: str, x: TensorSpec, heads: int) -> None:
    """The embedding size must split evenly across the heads."""
    e = x.shape[-1]
    if e % heads:
        raise ShapeError(
            f"{layer} needs the embedding size E to be divisible by num_heads {heads} but gets "
            f"{x} with E = {e}: use num_heads {_divisors(e)}, or change E"
        )


def attention_flops(t: int, e: int, heads: int) -> int:
    """Q, K, V and output projections, scores, softmax and the weighted sum."""
    projections = 2 * 4 * t * e * e
    scores_and_sum = 2 * 2 * t * t * e
    softmax = 3 * heads * t * t
    return projections + scores_and_sum + softmax


def _heads() -> Param:
    return Param(
        "num_heads",
        "int",
        4,
        "Attention heads; the embedding size must be divisible by it.",
        minimum=1,
        maximum=256,
        label="Heads",
    )


# --- MultiHeadSelfAttention ----------------------------------------------------------


def _mhsa_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_sequence("MultiHeadSelfAttention", x)
    require_heads("MultiHeadSelfAttention", x, p["num_heads"])
    return x


def _mhsa_build(p: P, xs: S) -> Any:
    from workbench.core.catalog.engine_module import engine_module

    return engine_module("SelfAttention", xs[0].shape[-1], p["num_heads"], p["dropout"])


MHSA = LayerType(
    name="MultiHeadSelfAttention",
    code=_mhsa_code,
    group="Attention",
    doc="Every step of a sequence (N, T, E) looks at every other step and mixes in what is relevant.",
    params=(
        _heads(),
        Param(
            "dropout",
            "float",
            0.0,
            "Dropout on the attention weights while training.",
            minimum=0.0,
            maximum=0.99,
        ),
    ),
    infer=_mhsa_infer,
    build=_mhsa_build,
    count_params=lambda p, xs, out: 4 * xs[0].shape[-1] ** 2 + 4 * xs[0].shape[-1],
    flops=lambda p, xs, out: attention_flops(xs[0].shape[-2], xs[0].shape[-1], p["num_heads"]),
)


# --- TransformerEncoderLayer ---------------------------------------------------------


def _tel_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_sequence("TransformerEncoderLayer", x)
    require_heads("TransformerEncoderLayer", x, p["num_heads"])
    return x


def _tel_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.TransformerEncoderLayer(
        xs[0].shape[-1],
        p["num_heads"],
        dim_feedforward=p["dim_feedforward"],
        dropout=p["dropout"],
        activation=p["activation"],
        batch_first=True,
        norm_first=p["norm_first"],
    )


def _tel_count(p: P, xs: S, out: TensorSpec) -> int:
    e, f = xs[0].shape[-1], p["dim_feedforward"]
    attention = 4 * e * e + 4 * e
    feedforward = e * f + f + f * e + e
    norms = 2 * 2 * e
    return attention + feedforward + norms


def _tel_flops(p: P, xs: S, out: TensorSpec) -> int:
    t, e = xs[0].shape
    f = p["dim_feedforward"]
    feedforward = 2 * 2 * t * e * f + t * f
    residual_and_norms = 2 * t * e + 2 * 5 * t * e
    return attention_flops(t, e, p["num_heads"]) + feedforward + residual_and_norms


TRANSFORMER_ENCODER_LAYER = LayerType(
    name="TransformerEncoderLayer",
    code=_encoder_code,
    group="Attention",
    doc="A transformer block for sequences (N, T, E): self-attention and a feed-forward net, with residuals and LayerNorms.",
    params=(
        _heads(),
        Param(
            "dim_feedforward",
            "int",
            256,
            "Hidden size of the feed-forward net inside the block.",
            minimum=1,
            maximum=100_000,
            label="Feed-forward size",
        ),
        Param(
            "dropout",
            "float",
            0.1,
            "Dropout inside the block while training.",
            minimum=0.0,
            maximum=0.99,
        ),
        Param(
            "activation",
            "choice",
            "relu",
            "Activation of the feed-forward net.",
            choices=("relu", "gelu"),
        ),
        Param(
            "norm_first",
            "bool",
            False,
            "Apply LayerNorm before attention and feed-forward (pre-norm; often trains more stably).",
        ),
    ),
    infer=_tel_infer,
    build=_tel_build,
    count_params=_tel_count,
    flops=_tel_flops,
)


# --- PositionalEncoding --------------------------------------------------------------


def _pe_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_sequence("PositionalEncoding", x)
    return x


def _pe_build(p: P, xs: S) -> Any:
    from workbench.core.catalog.engine_module import engine_module

    t, e = xs[0].shape
    return engine_module("PositionalEncoding", t, e, p["kind"], p["dropout"])


POSITIONAL_ENCODING = LayerType(
    name="PositionalEncoding",
    code=_pe_code,
    group="Attention",
    doc="Adds position information to a sequence (N, T, E) so attention layers know the order of steps.",
    params=(
        Param(
            "kind",
            "choice",
            "sinusoidal",
            "sinusoidal: fixed sine waves, no weights; learned: a trained vector per position.",
            choices=("sinusoidal", "learned"),
        ),
        Param(
            "dropout",
            "float",
            0.0,
            "Dropout after adding the positions, while training.",
            minimum=0.0,
            maximum=0.99,
        ),
    ),
    infer=_pe_infer,
    build=_pe_build,
    count_params=lambda p, xs, out: out.numel if p["kind"] == "learned" else 0,
    onnx_note="sinusoidal: any sequence length works in the exported model; learned: the table fixes the length at the Input's.",
)


LAYERS = [MHSA, TRANSFORMER_ENCODER_LAYER, POSITIONAL_ENCODING]
