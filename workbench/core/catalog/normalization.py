"""Layer types: normalization (see base.LayerType)."""

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
    module_code,
    require_float,
    require_rank,
)

P = Mapping[str, Any]
S = Sequence[TensorSpec]


# --- the layers' code in an exported model.py (see base.LayerCode) --------------------


def _norm_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return module_code("BatchNorm1d", xs[0].shape[0], **changed(p, eps=1e-5, momentum=0.1))


def _norm2d_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return module_code("BatchNorm2d", xs[0].shape[0], **changed(p, eps=1e-5, momentum=0.1))


def _ln_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return module_code("LayerNorm", xs[0].shape[-1], **changed(p, eps=1e-5))


def _eps() -> Param:
    return Param(
        "eps",
        "float",
        1e-5,
        "Small number added to the variance to avoid dividing by zero.",
        minimum=1e-12,
        maximum=1.0,
        label="Epsilon",
    )


def _momentum() -> Param:
    return Param(
        "momentum",
        "float",
        0.1,
        "How fast the running mean and variance used at evaluation follow each batch.",
        minimum=0.0,
        maximum=1.0,
    )


# --- BatchNorm1d / BatchNorm2d -------------------------------------------------------


def _bn1d_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_float("BatchNorm1d", x)
    fix = "use a BatchNorm2d for images" if x.rank == 4 else "Flatten or Reshape it first"
    require_rank("BatchNorm1d", x, (2, 3), "(N, C) or (N, C, L)", fix)
    return x


def _bn2d_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_float("BatchNorm2d", x)
    fix = "use a BatchNorm1d for features and sequences" if x.rank in (2, 3) else "Reshape it first"
    require_rank("BatchNorm2d", x, (4,), "(N, C, H, W)", fix)
    return x


def _bn_build(d: int) -> Any:
    def build(p: P, xs: S) -> Any:
        import torch.nn as nn

        cls = nn.BatchNorm1d if d == 1 else nn.BatchNorm2d
        return cls(xs[0].shape[0], eps=p["eps"], momentum=p["momentum"])

    return build


BATCHNORM1D = LayerType(
    name="BatchNorm1d",
    code=_norm_code,
    group="Normalization",
    doc="Normalizes each feature or channel of (N, C) or (N, C, L) over the batch; speeds up training.",
    params=(_eps(), _momentum()),
    infer=_bn1d_infer,
    build=_bn_build(1),
    count_params=lambda p, xs, out: 2 * xs[0].shape[0],
    flops=lambda p, xs, out: 2 * out.numel,
)

BATCHNORM2D = LayerType(
    name="BatchNorm2d",
    code=_norm2d_code,
    group="Normalization",
    doc="Normalizes each channel of images (N, C, H, W) over the batch; usually right after a Conv2d.",
    params=(_eps(), _momentum()),
    infer=_bn2d_infer,
    build=_bn_build(2),
    count_params=lambda p, xs, out: 2 * xs[0].shape[0],
    flops=lambda p, xs, out: 2 * out.numel,
)


# --- LayerNorm -----------------------------------------------------------------------


def _ln_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_float("LayerNorm", x)
    if x.rank < 2:  # pragma: no cover - every tensor spec has a feature axis
        raise ShapeError(f"LayerNorm needs (N, ..., features) but gets {x}")
    return x


def _ln_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.LayerNorm(xs[0].shape[-1], eps=p["eps"])


LAYERNORM = LayerType(
    name="LayerNorm",
    code=_ln_code,
    group="Normalization",
    doc="Normalizes the last axis of every sample (or every time step) on its own; standard in transformers.",
    params=(_eps(),),
    infer=_ln_infer,
    build=_ln_build,
    count_params=lambda p, xs, out: 2 * xs[0].shape[-1],
    flops=lambda p, xs, out: 5 * out.numel,
)


# --- GroupNorm -----------------------------------------------------------------------


def _gn_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_float("GroupNorm", x)
    channels, groups = x.shape[0], p["num_groups"]
    if channels % groups:
        fits = [g for g in range(1, channels + 1) if channels % g == 0]
        raise ShapeError(
            f"GroupNorm splits {channels} channels into {groups} groups, but {channels} is not "
            f"divisible by {groups}: use a number of groups that divides it ({', '.join(map(str, fits[:8]))}"
            f"{', …' if len(fits) > 8 else ''})"
        )
    return x


def _gn_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.GroupNorm(p["num_groups"], xs[0].shape[0], eps=p["eps"], affine=p["affine"])


def _gn_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return module_code(
        "GroupNorm", p["num_groups"], xs[0].shape[0], **changed(p, eps=1e-5, affine=True)
    )


GROUPNORM = LayerType(
    name="GroupNorm",
    group="Normalization",
    doc="Normalizes groups of channels of (N, C, ...) within each sample; independent of the batch size.",
    params=(
        Param(
            "num_groups",
            "int",
            4,
            "How many groups the channels are split into (it must divide the channels; 1 is like a LayerNorm over C and the rest).",
            minimum=1,
            maximum=4096,
            label="Groups",
        ),
        _eps(),
        Param("affine", "bool", True, "Learn a scale and a shift for each channel."),
    ),
    infer=_gn_infer,
    build=_gn_build,
    count_params=lambda p, xs, out: 2 * xs[0].shape[0] if p["affine"] else 0,
    flops=lambda p, xs, out: 5 * out.numel,
    code=_gn_code,
)


LAYERS = [BATCHNORM1D, BATCHNORM2D, LAYERNORM, GROUPNORM]
