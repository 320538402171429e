"""Layer types: convolution (see base.LayerType).

Also holds the helpers that pooling layers share: rank checks with reshape hints and
the "input smaller than the window" check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.core.catalog.base import (
    CodeFn,
    LayerCode,
    LayerType,
    Param,
    ShapeError,
    TensorSpec,
    changed,
    module_code,
    out_size,
    require_float,
    require_rank,
)

P = Mapping[str, Any]
S = Sequence[TensorSpec]


# --- the layers' code in an exported model.py (see base.LayerCode) --------------------


def _conv_code(name: str) -> CodeFn:
    def code(p: P, xs: S, out: TensorSpec) -> LayerCode:
        kw = changed(p, stride=1, padding=0, dilation=1, bias=True)
        return module_code(
            name, xs[0].shape[0], p["out_channels"], kernel_size=p["kernel_size"], **kw
        )

    return code


#: What a d-dimensional convolution or pooling layer takes, by number of spatial axes.
EXPECTED = {1: "(N, C, L)", 2: "(N, C, H, W)"}


def _square_side(n: int) -> int | None:
    side = math.isqrt(n)
    return side if side * side == n else None


def shape_hint(x: TensorSpec, d: int) -> str:
    """How to reshape ``x`` for a layer with ``d`` spatial axes, with an example shape."""
    target = EXPECTED[d]
    example = ""
    if d == 2:
        if x.rank == 3:
            example = f"1 {x.shape[0]} {x.shape[1]}"
        elif x.rank == 2:
            n = x.shape[0]
            for channels in (1, 3):
                side = _square_side(n // channels) if n % channels == 0 else None
                if side:
                    example = f"{channels} {side} {side}"
                    break
    elif d == 1 and x.rank == 2:
        example = f"1 {x.shape[0]}"
    if x.rank == 4 and d == 1:
        return f"this layer is for sequences of channels; for images use the 2d version, or reshape it to {target} with a Reshape"
    hint = f"reshape it to {target} with a Reshape"
    return hint + (f", e.g. shape {example}" if example else "")


def require_spatial(layer: str, x: TensorSpec, d: int) -> None:
    """Float input with ``d`` spatial axes, or a ShapeError with a reshape hint."""
    require_float(layer, x)
    require_rank(layer, x, (d + 2,), EXPECTED[d], shape_hint(x, d))


def _sizes(values: Sequence[int]) -> str:
    return "x".join(str(v) for v in values)


def window_out(
    layer: str,
    x: TensorSpec,
    d: int,
    kernel: int,
    stride: int,
    padding: int,
    dilation: int = 1,
    window: str = "kernel",
    fix: str = "use padding or a smaller kernel",
) -> tuple[int, ...]:
    """Spatial output sizes of a sliding window; ShapeError if the input is too small."""
    spatial = x.shape[1:]
    span = dilation * (kernel - 1) + 1
    if any(s + 2 * padding < span for s in spatial):
        if d == 1:
            size = f"the input length {spatial[0]}"
            win = f"the {window} size {span}"
        else:
            size = f"the input {_sizes(spatial)}"
            win = f"the {_sizes([span] * d)} {window}"
        if padding:
            size += f" ({_sizes([s + 2 * padding for s in spatial])} with padding)"
        if dilation > 1:
            win += f" ({kernel} dilated by {dilation})"
        raise ShapeError(f"{layer} gets {x}: {size} is smaller than {win}: {fix}")
    return tuple(out_size(s, kernel, stride, padding, dilation) for s in spatial)


# --- Conv1d / Conv2d -----------------------------------------------------------------


def _conv_params() -> tuple[Param, ...]:
    return (
        Param(
            "out_channels",
            "int",
            16,
            "Number of filters, i.e. output channels.",
            minimum=1,
            maximum=100_000,
            label="Out channels",
        ),
        Param(
            "kernel_size",
            "int",
            3,
            "Width of each filter window.",
            minimum=1,
            maximum=255,
            label="Kernel size",
        ),
        Param(
            "stride",
            "int",
            1,
            "Step between windows; 2 halves the output size.",
            minimum=1,
            maximum=255,
        ),
        Param(
            "padding",
            "int",
            0,
            "Zeros added on each side; (kernel - 1) / 2 keeps the size for odd kernels.",
            minimum=0,
            maximum=255,
        ),
        Param(
            "dilation",
            "int",
            1,
            "Spacing between kernel taps; more sees wider without more weights.",
            minimum=1,
            maximum=255,
        ),
        Param("bias", "bool", True, "Learn an additive bias per output channel."),
    )


def _conv_layer(d: int) -> LayerType:
    name = f"Conv{d}d"

    def infer(p: P, xs: S) -> TensorSpec:
        (x,) = xs
        require_spatial(name, x, d)
        spatial = window_out(name, x, d, p["kernel_size"], p["stride"], p["padding"], p["dilation"])
        return TensorSpec((p["out_channels"], *spatial))

    def build(p: P, xs: S) -> Any:
        import torch.nn as nn

        cls = nn.Conv1d if d == 1 else nn.Conv2d
        return cls(
            xs[0].shape[0],
            p["out_channels"],
            p["kernel_size"],
            stride=p["stride"],
            padding=p["padding"],
            dilation=p["dilation"],
            bias=p["bias"],
        )

    def count(p: P, xs: S, out: TensorSpec) -> int:
        weights = xs[0].shape[0] * p["out_channels"] * p["kernel_size"] ** d
        return weights + (p["out_channels"] if p["bias"] else 0)

    def flops(p: P, xs: S, out: TensorSpec) -> int:
        per_output = 2 * xs[0].shape[0] * p["kernel_size"] ** d
        return out.numel * (per_output + (1 if p["bias"] else 0))

    if d == 1:
        doc = "1-D convolution: slides learned filters along sequences or signals (N, C, L)."
    else:
        doc = "2-D convolution: slides learned filters over images (N, C, H, W) to detect local patterns."
    return LayerType(
        name=name,
        code=_conv_code(name),
        group="Convolution",
        doc=doc,
        params=_conv_params(),
        infer=infer,
        build=build,
        count_params=count,
        flops=flops,
    )


CONV1D = _conv_layer(1)
CONV2D = _conv_layer(2)

LAYERS = [CONV1D, CONV2D]
