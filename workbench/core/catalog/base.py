"""The vocabulary of the layer catalog: parameter specs, tensor specs and layer types.

Each layer type is described once by a :class:`LayerType`; the inspector form, shape
inference, parameter and FLOP counts, the torch module and the ONNX-support flag all
come from that description, and so does the layer's code in an exported ``model.py``
(:class:`LayerCode`). This module imports neither Qt nor torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ParamKind = Literal["int", "float", "bool", "choice", "ints"]
DType = Literal["float32", "int64"]


class ParamError(ValueError):
    """A parameter value that its spec does not accept."""


class ShapeError(ValueError):
    """A layer cannot accept the shapes it is given; the message says how to fix it.

    ``insert`` names a layer type that, inserted just before the layer, fixes the
    error (e.g. "Flatten"), so a user interface can offer the fix as one click.
    """

    def __init__(self, message: str, *, insert: str | None = None) -> None:
        super().__init__(message)
        self.insert = insert


@dataclass(frozen=True)
class Param:
    """One parameter of a layer type: its type, default, limits and a one-line doc."""

    name: str
    kind: ParamKind
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    label: str = ""
    # For "ints": how many values are allowed (min, max).
    length: tuple[int, int] = (1, 8)
    # A value that means something special and is allowed despite the limits
    # (for example -1 in a Reshape or "same as kernel" 0 for a stride).
    special: tuple[Any, ...] = ()
    # What the first special value means, shown in its place in forms (e.g. "same as kernel").
    special_text: str = ""

    @property
    def title(self) -> str:
        """Human-readable name for forms."""
        return self.label or self.name.replace("_", " ").capitalize()

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ParamError."""
        where = f"parameter '{self.name}'"
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ParamError(f"{where} must be true or false, not {value!r}")
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(f"{where} must be a whole number, not {value!r}")
            if isinstance(value, float):
                if not value.is_integer():
                    raise ParamError(f"{where} must be a whole number, not {value!r}")
                value = int(value)
            self._check_range(value)
            return value
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(f"{where} must be a number, not {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ParamError(f"{where} must be a finite number, not {value!r}")
            self._check_range(value)
            return value
        if self.kind == "choice":
            if value not in self.choices:
                options = ", ".join(self.choices)
                raise ParamError(f"{where} must be one of {options}, not {value!r}")
            return value
        if self.kind == "ints":
            if not isinstance(value, list | tuple) or any(
                isinstance(v, bool) or not isinstance(v, int) for v in value
            ):
                raise ParamError(f"{where} must be a list of whole numbers, not {value!r}")
            lo, hi = self.length
            if not lo <= len(value) <= hi:
                raise ParamError(f"{where} needs between {lo} and {hi} values, not {len(value)}")
            for v in value:
                self._check_range(v)
            return list(value)
        raise ParamError(f"{where} has an unknown kind {self.kind!r}")  # pragma: no cover

    def _check_range(self, value: float) -> None:
        if value in self.special:
            return
        if self.minimum is not None and value < self.minimum:
            raise ParamError(
                f"parameter '{self.name}' must be at least {_num(self.minimum)}, not {value}"
            )
        if self.maximum is not None and value > self.maximum:
            raise ParamError(
                f"parameter '{self.name}' must be at most {_num(self.maximum)}, not {value}"
            )


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class TensorSpec:
    """The shape of one sample (batch axis left out) and its element type."""

    shape: tuple[int, ...]
    dtype: DType = "float32"

    @property
    def rank(self) -> int:
        """Number of axes including the batch axis."""
        return len(self.shape) + 1

    @property
    def numel(self) -> int:
        """Elements per sample."""
        return math.prod(self.shape)

    def __str__(self) -> str:
        return format_shape(self.shape)


def format_shape(shape: Sequence[int]) -> str:
    """Format a per-sample shape with its batch axis, e.g. ``(N, 16, 5, 5)``."""
    return "(" + ", ".join(["N", *map(str, shape)]) + ")"


InferFn = Callable[[Mapping[str, Any], Sequence[TensorSpec]], TensorSpec]
CountFn = Callable[[Mapping[str, Any], Sequence[TensorSpec], TensorSpec], int]
BuildFn = Callable[[Mapping[str, Any], Sequence[TensorSpec]], Any]


@dataclass(frozen=True)
class LayerCode:
    """How one layer reads in an exported ``model.py`` (readable PyTorch).

    Attributes:
        init: The constructor expression of its attribute, e.g. ``nn.GroupNorm(4, 32)``
            (see :func:`code_call`), or None for a layer written inline in ``forward``.
        forward: Its lines of ``forward``, formatted with ``out`` (the output variable),
            ``attr`` (the attribute's name), ``x`` (the first input), ``xs`` (all inputs,
            comma-separated) and ``sum`` (all inputs joined with `` + ``).
        helper: The name of a helper class of ``model.py`` that ``init`` needs.
        helper_source: That class's source, written once into ``model.py``.
        imports: The modules (beyond torch and ``torch.nn``) that the helper imports.
        state_prefix: Where the workbench's own module holds the torch module that
            ``init`` builds (``"rnn."`` in ``layers.gru_1.rnn.weight_ih_l0``): its weights'
            keys lose the prefix in ``model.py`` (``gru_1.weight_ih_l0``).
    """

    init: str | None
    forward: tuple[str, ...] = ("{out} = self.{attr}({xs})",)
    helper: str | None = None
    helper_source: str = ""
    imports: tuple[str, ...] = ()
    state_prefix: str = ""


#: The code of a layer from its params, input specs and output spec.
CodeFn = Callable[[Mapping[str, Any], Sequence[TensorSpec], TensorSpec], LayerCode]


def code_literal(value: Any) -> str:
    """``value`` (a param value: bool, number, str, tuple, list) as a Python literal."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        inner = ", ".join(code_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(code_literal(v) for v in value) + "]"
    return str(value)


def code_call(func: str, *args: Any, **kwargs: Any) -> str:
    """A call expression, e.g. ``code_call("nn.Linear", 4, 2, bias=False)``."""
    parts = [code_literal(a) for a in args] + [f"{k}={code_literal(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


def module_code(cls: str, *args: Any, **kwargs: Any) -> LayerCode:
    """The code of a layer that is one module called on its inputs: ``nn.<cls>(...)``."""
    return LayerCode(code_call(f"nn.{cls}", *args, **kwargs))


def changed(params: Mapping[str, Any], **defaults: Any) -> dict[str, Any]:
    """The params among ``defaults`` whose values differ from them (keyword arguments worth writing)."""
    return {k: params[k] for k, d in defaults.items() if params[k] != d}


def _zero(params: Mapping[str, Any], inputs: Sequence[TensorSpec], out: TensorSpec) -> int:
    return 0


def _elementwise(params: Mapping[str, Any], inputs: Sequence[TensorSpec], out: TensorSpec) -> int:
    return out.numel


@dataclass(frozen=True)
class LayerType:
    """Everything the workbench knows about one kind of layer.

    Attributes:
        name: The type name stored in project files, e.g. ``"Conv2d"``.
        group: Palette group, e.g. ``"Convolution"``.
        doc: One line shown as the palette tooltip and in the inspector.
        params: Parameter specs in form order.
        infer: Output spec from params and input specs; raises ShapeError.
        build: Returns a torch ``nn.Module`` called as ``module(*inputs)``, or names one
            of the engine's (``engine_module``; see :mod:`.engine_module`).
        count_params: Trainable parameter count (pure Python).
        flops: Floating-point operations per sample (a multiply-add counts 2).
        inputs: Number of input ports, or the name of an int param that sets it.
        onnx: Whether ONNX export supports the layer.
        onnx_note: Why not, or what to watch for.
        code: Its code in an exported ``model.py`` (:class:`LayerCode`); None: not exportable.
    """

    name: str
    group: str
    doc: str
    params: tuple[Param, ...]
    infer: InferFn
    build: BuildFn
    count_params: CountFn = _zero
    flops: CountFn = _elementwise
    inputs: int | str = 1
    onnx: bool = True
    onnx_note: str = ""
    short: str = field(default="")
    code: CodeFn | None = None

    def param(self, name: str) -> Param:
        """The spec of parameter ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        """A fresh dict of default parameter values."""
        return {
            p.name: (list(p.default) if isinstance(p.default, list | tuple) else p.default)
            for p in self.params
        }

    def validate_params(self, params: Mapping[str, Any], *, strict: bool = True) -> dict[str, Any]:
        """Return a complete, coerced parameter dict; raise ParamError on a bad value.

        Missing parameters take their defaults. With ``strict``, unknown names are errors.
        """
        known = {p.name for p in self.params}
        unknown = sorted(set(params) - known)
        if unknown and strict:
            raise ParamError(f"{self.name} has no parameter {unknown[0]!r}")
        out = {}
        for p in self.params:
            out[p.name] = p.coerce(params[p.name]) if p.name in params else p.coerce(p.default)
        return out

    def num_inputs(self, params: Mapping[str, Any]) -> int:
        """How many input ports a node of this type has with these params."""
        if isinstance(self.inputs, int):
            return self.inputs
        return int(params.get(self.inputs, self.param(self.inputs).default))


def require_float(layer: str, spec: TensorSpec) -> None:
    """Raise ShapeError when a float layer receives integer token ids."""
    if spec.dtype != "float32":
        raise ShapeError(
            f"{layer} needs float input but gets integer ids {spec}: "
            "put an Embedding before it, or set the Input's dtype to float32"
        )


def require_rank(
    layer: str,
    spec: TensorSpec,
    ranks: Sequence[int],
    expected: str,
    fix: str,
    insert: str | None = None,
) -> None:
    """Raise ShapeError unless ``spec`` has one of ``ranks`` axes (batch included).

    Args:
        layer: The layer type name for the message.
        spec: The incoming tensor spec.
        ranks: Accepted numbers of axes, batch axis included.
        expected: What the layer needs, e.g. ``"(N, features)"``.
        fix: How to fix it, e.g. ``"insert a Flatten before it"``.
        insert: The layer type that fixes it when inserted before the layer, if one does.
    """
    if spec.rank not in ranks:
        raise ShapeError(f"{layer} needs {expected} but gets {spec}: {fix}", insert=insert)


def out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
