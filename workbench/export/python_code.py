"""Python export: the model as readable PyTorch code and its training as a standalone script.

:func:`export_python` writes a folder that needs nothing of Model Workbench:

* ``model.py``: ``class Model(nn.Module)`` with one attribute per layer, named after its
  node (``self.conv2d_1 = nn.Conv2d(3, 16, kernel_size=5)``), and a ``forward`` that
  follows the graph with named intermediate values (skips, concatenations). Merges,
  reshapes and pooling over whole axes are inline tensor expressions; the recurrent
  layers are plain ``nn.GRU``/``nn.LSTM``/``nn.RNN`` and self-attention a plain
  ``nn.MultiheadAttention``; only a positional encoding needs a small helper class.
* ``weights.pt``: the state dict with keys that match ``model.py`` (see
  :func:`rename_state_dict`), loadable with ``torch.load(..., weights_only=True)``.
* ``train.py`` + ``config.json`` (when the export comes from a training run with a
  dataset): the training configuration repeated with plain PyTorch (the same dataset
  reading and stored preprocessing, the same split, optimizer, schedule, loss and
  regularization) that also runs unchanged under ``torchrun`` with
  DistributedDataParallel.
* ``README.md``: how to use all that.

The folder is written beside the target under a temporary name, verified (the generated
model, imported from the written files in a fresh namespace, must give the workbench
model's outputs) and only then renamed into place. A failed export leaves nothing.
"""

from __future__ import annotations

import json
import keyword
import math
import os
import shutil
import sys
import tempfile
import textwrap
import types
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workbench.core.catalog import TensorSpec, format_shape
from workbench.core.graph import Graph, Node
from workbench.core.shapes import Analysis, analyze
from workbench.export.report import ExportError, one_line
from workbench.export.staging import interrupts_held

FORMAT = "model-workbench-python-export"
VERSION = 1
#: Batch size of the verification run.
VERIFY_BATCH = 3
#: Largest difference allowed between the generated model and the workbench model.
TOLERANCE = 1e-5
#: Line length the generated code keeps to.
LINE = 100
#: Words at the top of every model.py written here: an export folder may be replaced.
MARKER = "exported from Model Workbench"

_RECURRENT = ("RNN", "LSTM", "GRU")
#: Types whose workbench module wraps the torch module under a name (dropped in model.py).
_WRAPPED = {"RNN": "rnn.", "LSTM": "rnn.", "GRU": "rnn.", "MultiHeadSelfAttention": "attn."}
#: Names the generated code uses itself; a node id equal to one of them gets a trailing _.
_OWN_NAMES = ("x", "self", "torch", "nn", "math", "F", "Model", "PositionalEncoding")
_RESERVED = frozenset(_OWN_NAMES + ("INPUT_SHAPE", "INPUT_DTYPE", "CLASSES")) | frozenset(
    dir(nn.Module())  # training, forward, to…: an attribute must not shadow them
)


@dataclass
class PythonExportReport:
    """What :func:`export_python` wrote and how it was verified."""

    folder: Path
    files: list[Path]
    #: Largest difference between the generated model and the workbench model (batch 3).
    max_abs_diff: float
    notes: list[str] = field(default_factory=list)


# --- names -------------------------------------------------------------------------------


def _needed(graph: Graph, analysis: Analysis) -> list[str]:
    """Node ids that lead to the Output, in topological order (as the compiler builds them)."""
    output = graph.of_type("Output")[0].id
    keep = graph.ancestors(output) | {output}
    return [n for n in analysis.order if n in keep]


def _analysis(graph: Graph) -> Analysis:
    analysis = analyze(graph)
    if not analysis.ok:
        first = analysis.errors[0]
        where = f"{first.node}: " if first.node else ""
        raise ExportError(f"the model has {len(analysis.errors)} error(s); {where}{first.message}")
    return analysis


def attribute_names(graph: Graph) -> dict[str, str]:
    """The Python name of every node: its id, with a ``_`` added where the id is a keyword
    or a name ``nn.Module`` or the generated code already uses (``training``, ``x``…)."""
    taken: set[str] = set()
    names: dict[str, str] = {}
    for nid in graph.nodes:
        name, others = nid, set(graph.nodes) - {nid}
        while keyword.iskeyword(name) or name in _RESERVED or name in taken or name in others:
            name += "_"
        taken.add(name)
        names[nid] = name
    return names


def rename_state_dict(
    graph: Graph, state_dict: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The workbench model's state dict with the keys of ``model.py``'s ``Model``.

    ``layers.<node id>.<param>`` becomes ``<attribute>.<param>``; the recurrent and
    self-attention layers, which the workbench wraps (``layers.gru_1.rnn.weight_ih_l0``),
    lose the wrapper's name (``gru_1.weight_ih_l0``). Tensors are copied to the CPU.

    Raises:
        ExportError: a key that belongs to no node of the graph.
    """
    names = attribute_names(graph)
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        head, _, rest = key.partition(".")
        nid, _, param = rest.partition(".")
        if head != "layers" or nid not in graph.nodes or not param:
            raise ExportError(f"the weights do not belong to this model: unexpected tensor '{key}'")
        wrapper = _WRAPPED.get(graph.nodes[nid].type)
        if wrapper is not None and param.startswith(wrapper):
            param = param[len(wrapper) :]
        out[f"{names[nid]}.{param}"] = value.detach().to("cpu").clone().contiguous()
    return out


# --- one layer as code ---------------------------------------------------------------------


def _lit(value: Any) -> str:
    """A Python literal as a person would write it."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        inner = ", ".join(_lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    return str(value)


def _call(func: str, *args: Any, **kwargs: Any) -> str:
    parts = [_lit(a) for a in args] + [f"{k}={_lit(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


Emit = Callable[[str, str, list[str]], list[str]]


@dataclass
class _Layer:
    """How one node reads in ``model.py``."""

    #: The constructor expression of its attribute (None: no attribute).
    init: str | None
    #: Lines of ``forward``: ``emit(output variable, attribute, input variables)``.
    emit: Emit
    #: A helper class the constructor needs (its source is added to the file).
    helper: str | None = None


def _module_call(out: str, attr: str, xs: list[str]) -> list[str]:
    return [f"{out} = self.{attr}({', '.join(xs)})"]


def _layer(node: Node, inputs: Sequence[TensorSpec], output: TensorSpec) -> _Layer:
    """The code of one node, from its params and its inferred input shapes."""
    p, t = node.params, node.type
    x0 = inputs[0] if inputs else output
    if t == "Input":
        return _Layer(None, lambda out, attr, xs: [])
    if t == "Output":
        return _Layer(
            _call("nn.Linear", x0.shape[0], output.shape[0]),
            lambda out, attr, xs: [f"return self.{attr}({xs[0]})"],
        )
    if t == "Linear":
        extra = {} if p["bias"] else {"bias": False}
        return _Layer(_call("nn.Linear", x0.shape[-1], p["units"], **extra), _module_call)
    if t == "Flatten":
        return _Layer(None, lambda out, attr, xs: [f"{out} = {xs[0]}.flatten(1)"])
    if t == "Reshape":
        dims = ", ".join(str(d) for d in output.shape)
        return _Layer(
            None, lambda out, attr, xs: [f"{out} = {xs[0]}.reshape({xs[0]}.shape[0], {dims})"]
        )
    if t == "Dropout":
        return _Layer(_call("nn.Dropout", p["p"]), _module_call)
    if t == "Embedding":
        return _Layer(_call("nn.Embedding", p["num_embeddings"], p["embedding_dim"]), _module_call)
    if t in ("Conv1d", "Conv2d"):
        kw: dict[str, Any] = {"kernel_size": p["kernel_size"]}
        for name, default in (("stride", 1), ("padding", 0), ("dilation", 1), ("bias", True)):
            if p[name] != default:
                kw[name] = p[name]
        return _Layer(_call(f"nn.{t}", x0.shape[0], p["out_channels"], **kw), _module_call)
    if t in ("MaxPool1d", "MaxPool2d", "AvgPool2d"):
        kw = {}
        if p["stride"] not in (0, p["kernel_size"]):
            kw["stride"] = p["stride"]
        if p["padding"]:
            kw["padding"] = p["padding"]
        return _Layer(_call(f"nn.{t}", p["kernel_size"], **kw), _module_call)
    if t == "GlobalAvgPool":
        if p["over"] == "time":
            dims = "1"
        else:
            axes = tuple(range(2, x0.rank))
            dims = str(axes[0]) if len(axes) == 1 else _lit(axes)
        return _Layer(None, lambda out, attr, xs: [f"{out} = {xs[0]}.mean(dim={dims})"])
    if t in ("BatchNorm1d", "BatchNorm2d", "LayerNorm"):
        size = x0.shape[-1] if t == "LayerNorm" else x0.shape[0]
        kw = {}
        if p["eps"] != 1e-5:
            kw["eps"] = p["eps"]
        if t != "LayerNorm" and p["momentum"] != 0.1:
            kw["momentum"] = p["momentum"]
        return _Layer(_call(f"nn.{t}", size, **kw), _module_call)
    if t in _RECURRENT:
        return _recurrent(node, x0)
    if t == "MultiHeadSelfAttention":
        kw = {"dropout": p["dropout"]} if p["dropout"] else {}
        init = _call("nn.MultiheadAttention", x0.shape[-1], p["num_heads"], **kw, batch_first=True)

        def attention(out: str, attr: str, xs: list[str]) -> list[str]:
            x = xs[0]
            return [f"{out}, _ = self.{attr}({x}, {x}, {x}, need_weights=False)"]

        return _Layer(init, attention)
    if t == "TransformerEncoderLayer":
        kw = {"dim_feedforward": p["dim_feedforward"], "dropout": p["dropout"]}
        if p["activation"] != "relu":
            kw["activation"] = p["activation"]
        kw["batch_first"] = True
        if p["norm_first"]:
            kw["norm_first"] = True
        return _Layer(
            _call("nn.TransformerEncoderLayer", x0.shape[-1], p["num_heads"], **kw), _module_call
        )
    if t == "PositionalEncoding":
        kw = {}
        if p["kind"] != "sinusoidal":
            kw["kind"] = p["kind"]
        if p["dropout"]:
            kw["dropout"] = p["dropout"]
        return _Layer(
            _call("PositionalEncoding", *x0.shape, **kw), _module_call, helper="PositionalEncoding"
        )
    if t in ("ReLU", "SiLU", "Sigmoid", "Tanh"):
        return _Layer(f"nn.{t}()", _module_call)
    if t == "LeakyReLU":
        slope = p["negative_slope"]
        return _Layer(
            _call("nn.LeakyReLU", slope) if slope != 0.01 else "nn.LeakyReLU()", _module_call
        )
    if t == "GELU":
        return _Layer(
            _call("nn.GELU", approximate="tanh") if p["approximate"] == "tanh" else "nn.GELU()",
            _module_call,
        )
    if t == "Softmax":
        return _Layer(_call("nn.Softmax", dim=p["dim"]), _module_call)
    if t == "Add":
        return _Layer(None, lambda out, attr, xs: [f"{out} = {' + '.join(xs)}"])
    if t == "Concat":
        return _Layer(
            None, lambda out, attr, xs: [f"{out} = torch.cat(({', '.join(xs)}), dim={p['dim']})"]
        )
    raise ExportError(f"the Python export does not know the layer type {t}")  # pragma: no cover


def _recurrent(node: Node, x: TensorSpec) -> _Layer:
    p = node.params
    kw: dict[str, Any] = {}
    if p["num_layers"] > 1:
        kw["num_layers"] = p["num_layers"]
    if node.type == "RNN" and p["nonlinearity"] != "tanh":
        kw["nonlinearity"] = p["nonlinearity"]
    kw["batch_first"] = True
    if p["bidirectional"]:
        kw["bidirectional"] = True
    if p["num_layers"] > 1 and p["dropout"]:
        kw["dropout"] = p["dropout"]
    init = _call(f"nn.{node.type}", x.shape[-1], p["hidden_size"], **kw)
    hidden, last, both = p["hidden_size"], p["output"] == "last", p["bidirectional"]

    def emit(out: str, attr: str, xs: list[str]) -> list[str]:
        lines = [f"{out}, _ = self.{attr}({xs[0]})"]
        # The forward direction ends at the last step, the backward one at the first.
        if last and both:
            both_ends = f"({out}[:, -1, :{hidden}], {out}[:, 0, {hidden}:])"
            lines.append(f"{out} = torch.cat({both_ends}, dim=1)  # each direction's final output")
        elif last:
            lines.append(f"{out} = {out}[:, -1]  # the last time step")
        return lines

    return _Layer(init, emit)


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

#: The source of each helper class a layer may need, by name.
_HELPERS = {"PositionalEncoding": _POSITIONAL_ENCODING}


# --- model.py ------------------------------------------------------------------------------


def _fit_line(indent: str, head: str, call: str, comment: str = "") -> list[str]:
    """``head + call`` on one line when it fits, else with the call's arguments wrapped."""
    line = f"{indent}{head}{call}"
    if comment and len(line) + len(comment) + 4 <= LINE:
        return [f"{line}  # {comment}"]
    if len(line) <= LINE or not call.endswith(")") or "(" not in call:
        return [line]
    func, _, rest = call.partition("(")
    args = rest[:-1]
    inner = indent + "    "
    if len(inner) + len(args) <= LINE:
        return [f"{indent}{head}{func}(", f"{inner}{args}", f"{indent})"]
    parts = _split_args(args)
    return [f"{indent}{head}{func}(", *[f"{inner}{a}," for a in parts], f"{indent})"]


def _split_args(args: str) -> list[str]:
    """Split an argument list at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
    parts.append(args[start:].strip())
    return [a for a in parts if a]


def _shape_comment(spec: TensorSpec) -> str:
    return format_shape(spec.shape)


def _describe_output(node: Node, classes: Sequence[str] | None) -> str:
    units = (
        node.params["num_classes"]
        if node.params["task"] == "classification"
        else node.params["num_targets"]
    )
    if node.params["task"] == "classification":
        what = f"(N, {units}) class scores (logits"
        if classes:
            shown = ", ".join(_doc_text(c) for c in classes[:8]) + (
                ", …" if len(classes) > 8 else ""
            )
            what += f" for {shown}"
        return what + ")"
    return f"(N, {units}) regression value{'s' if units != 1 else ''}"


def _model_source(
    graph: Graph,
    class_name: str = "Model",
    *,
    title: str | None = None,
    classes: Sequence[str] | None = None,
    target_scale: Mapping[str, Sequence[float]] | None = None,
) -> str:
    """The text of ``model.py`` (see :func:`model_source`), with an optional title, class
    names and, for a model trained on standardized regression targets, their scale."""
    if not class_name.isidentifier() or keyword.iskeyword(class_name):
        raise ExportError(f"'{class_name}' is not a valid Python class name")
    analysis = _analysis(graph)
    order = _needed(graph, analysis)
    names = attribute_names(graph)
    title = _doc_text(title)[:80] if title else None
    inp = graph.of_type("Input")[0]
    out_node = graph.of_type("Output")[0]
    layers = {
        nid: _layer(graph.nodes[nid], analysis.nodes[nid].inputs, _output_spec(analysis, nid))
        for nid in order
    }
    sources = {nid: [e.src for e in graph.inputs_of(nid) if e is not None] for nid in order}
    consumers: dict[str, list[str]] = {nid: [] for nid in order}
    for nid in order:
        for src in sources[nid]:
            if nid not in consumers[src]:
                consumers[src].append(nid)
    position = {nid: k for k, nid in enumerate(order)}

    # forward(): a value that feeds only the next statement stays in `x`; any other
    # (a skip connection, a branch) gets a variable named after its node.
    body: list[str] = []
    var: dict[str, str] = {}
    in_x = inp.id  # the node whose value `x` holds
    for k, nid in enumerate(order):
        node, layer = graph.nodes[nid], layers[nid]
        if node.type == "Input":
            var[nid] = "x"
            continue
        xs = [var[s] for s in sources[nid]]
        x_free = max((position[c] for c in consumers[in_x]), default=-1) <= k
        nxt = order[k + 1] if k + 1 < len(order) else None
        if x_free and consumers[nid] == [nxt]:
            out, in_x = "x", nid
        else:
            out = names[nid]
        var[nid] = out
        lines = layer.emit(out, names[nid], xs)
        comment = (
            _describe_output(node, None)  # the class names are in the docstring
            if node.type == "Output"
            else _shape_comment(_output_spec(analysis, nid))
        )
        for j, line in enumerate(lines):
            code, _, own = line.partition("  # ")
            note = ": ".join(c for c in (own, comment if j == len(lines) - 1 else "") if c)
            head, call = _split_assignment(code)
            body.extend(_fit_line(" " * 8, head, call, note))

    init: list[str] = []
    helpers: list[str] = []
    for nid in order:
        layer = layers[nid]
        if layer.init is not None:
            init.extend(_fit_line(" " * 8, f"self.{names[nid]} = ", layer.init))
        if layer.helper and layer.helper not in helpers:
            helpers.append(layer.helper)

    in_spec = _output_spec(analysis, inp.id)
    in_text = f"{format_shape(in_spec.shape)} {in_spec.dtype}"
    out_text = _describe_output(out_node, classes)
    params = sum(analysis.nodes[n].params for n in order)
    dtype = "torch.int64" if in_spec.dtype == "int64" else "torch.float32"

    first = f"The model{f' of {title}' if title else ''}, {MARKER} as plain PyTorch code."
    text: list[str] = [
        *textwrap.wrap('"""' + first, LINE),
        "",
        "    import torch",
        f"    from model import {class_name}",
        "",
        f"    model = {class_name}()",
        '    model.load_state_dict(torch.load("weights.pt", weights_only=True))',
        "    model.eval()",
        "",
        *textwrap.wrap(f"Input: {in_text}. Output: {out_text}.", LINE),
        "Nothing here imports Model Workbench: edit it like any PyTorch module.",
        '"""',
        "",
    ]
    if "PositionalEncoding" in helpers:
        text.append("import math")
        text.append("")
    text += ["import torch", "from torch import nn", ""]
    text.append("#: One sample's shape (the batch axis left out) and element type.")
    text.append(f"INPUT_SHAPE = {_lit(tuple(in_spec.shape))}")
    text.append(f"INPUT_DTYPE = {dtype}")
    if classes:
        text += _fit_line(
            "",
            "CLASSES = ",
            "(" + ", ".join(_lit(c) for c in classes) + ("," if len(classes) == 1 else "") + ")",
        )
    if target_scale:
        text.append(
            "#: The network outputs targets in standard units (it was trained on (y - mean) / std):"
        )
        text.append("#: model(x) * TARGET_STD + TARGET_MEAN gives them in their own units.")
        for name, key in (("TARGET_MEAN", "mean"), ("TARGET_STD", "std")):
            values = ", ".join(repr(float(v)) for v in target_scale[key])
            text += _fit_line("", f"{name} = ", f"torch.tensor([{values}])")
    text.append("")
    for helper in helpers:
        text += [_HELPERS[helper].rstrip("\n"), ""]
    text += [
        "",
        f"class {class_name}(nn.Module):",
        f'    """The network{f" of {title}" if title else ""} ({params:,} trainable parameters).',
        "",
        *textwrap.wrap(
            f"Input: {in_text}. Output: {out_text}.",
            LINE,
            initial_indent="    ",
            subsequent_indent="    ",
        ),
        '    """',
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init,
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        *body,
        "",
    ]
    return "\n".join(text)


def _split_assignment(line: str) -> tuple[str, str]:
    """``"x = self.a(x)"`` -> ``("x = ", "self.a(x)")`` (``return`` lines likewise)."""
    for sep in (" = ", "return "):
        head, found, rest = line.partition(sep)
        if found and "(" not in head:
            return head + found, rest
    return "", line


def _output_spec(analysis: Analysis, nid: str) -> TensorSpec:
    spec = analysis.nodes[nid].output
    if spec is None:  # pragma: no cover - a graph without errors has every shape
        raise ExportError(f"{nid}: its output shape is unknown")
    return spec


def model_source(graph: Graph, class_name: str = "Model") -> str:
    """The text of ``model.py``: ``graph`` as a readable ``nn.Module`` subclass.

    One attribute per layer named after its node (see :func:`attribute_names`), with the
    real constructor arguments (input sizes from shape inference), and a ``forward`` in
    topological order over the nodes that lead to the Output. The file imports only
    torch (and math for a sinusoidal positional encoding).

    Raises:
        ExportError: the graph has errors, or ``class_name`` is not an identifier.
    """
    return _model_source(graph, class_name)


# --- train.py ------------------------------------------------------------------------------
#
# The script is assembled from the pieces below: the header, the reader of the project's
# kind of dataset (image folder or index, table, or arrays), then the training code that
# every kind shares. @@NAME@@ markers are filled in by _train_source.

_T_HEAD = r'''"""Train @@TITLE@@ with plain PyTorch, as Model Workbench trained it.

    python train.py                                    # the exported training configuration
    python train.py --epochs 5 --data PATH             # other epochs, the dataset elsewhere
    torchrun --standalone --nproc_per_node=4 train.py  # 4 processes, DistributedDataParallel

config.json beside this file holds the training settings, where the dataset is, how it is
split, and the preprocessing that the workbench fitted on the training split: @@FITTED@@.
Edit it to change them. model.py holds the network. The trained weights are saved (by rank
0) to --out, ready for ``Model().load_state_dict(torch.load(path, weights_only=True))``.

The split is the workbench's: the same ratios and seed give the same samples. Under
torchrun every process reads the dataset and trains on its share of each epoch
(DistributedSampler), DistributedDataParallel averages the gradients, and validation is
shared out with its sums all-reduced. --batch-size is the global batch, split evenly
across the processes, so the optimizer steps on batches of the size the workbench used.
"""
'''

_T_IMPORTS = {
    "image": r"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from model import Model
""",
    "table": r"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset, TensorDataset

from model import Model
""",
    "arrays": r"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset, TensorDataset

from model import Model
""",
}

_T_SPLIT = r'''
HERE = Path(__file__).resolve().parent
#: DataLoader worker processes by default (--workers).
WORKERS = @@WORKERS@@


# --- the split -----------------------------------------------------------------------------


def make_split(
    labels: np.ndarray,
    task: str,
    val_ratio: float,
    test_ratio: float,
    seed: int,
    given: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Sample indices of the train, val and test splits, the same as Model Workbench makes them.

    Classification is stratified: each class's samples are shuffled with the seed and cut
    by the ratios (test first, then validation, at least one sample left to train on);
    regression shuffles all samples at once. Split codes given by the data (0 train, 1 val,
    2 test) are kept; only a missing validation split is then cut out of the training one.
    """
    rng = np.random.default_rng(seed)
    if given is not None:
        train, val, test = (np.flatnonzero(given == code) for code in (0, 1, 2))
        if len(val) == 0 and val_ratio > 0 and len(train) > 1:
            sub = make_split(labels[train], task, val_ratio, 0.0, seed)
            train, val = train[sub["train"]], train[sub["val"]]
        return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}
    if task == "classification":
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    else:
        groups = [np.arange(len(labels))]
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for idx in groups:
        idx = rng.permutation(idx)
        k = len(idx)
        n_test, n_val = int(round(k * test_ratio)), int(round(k * val_ratio))
        if k - n_test - n_val < 1:
            n_test = min(n_test, max(0, k - 1))
            n_val = min(n_val, max(0, k - 1 - n_test))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test : n_test + n_val])
        parts["train"].append(idx[n_test + n_val :])
    return {name: np.sort(np.concatenate(p)).astype(np.int64) for name, p in parts.items()}
'''

_T_IMAGES = r'''

# --- reading the images --------------------------------------------------------------------

IMAGE_EXTENSIONS = {
    ".png",
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".bmp",
    ".dib",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
}
#: Folder names (and index split values) that give the split, and its code.
SPLIT_NAMES = {
    "train": 0,
    "training": 0,
    "val": 1,
    "valid": 1,
    "validation": 1,
    "test": 2,
    "testing": 2,
}
PATH_HEADERS = ("path", "file", "filename", "file_name", "image", "image_path", "img", "filepath")
LABEL_HEADERS = ("label", "class", "target", "y", "category", "class_name")


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def list_image_folder(root: Path) -> tuple[list[tuple[str, str, str, int]], bool]:
    """``(file, name, class, split code)`` of every image in a folder of class subfolders.

    The class folders may sit inside train/, val/ and test/ folders, which then give the
    split (code -1 where they do not). Hidden files are skipped; class folders are searched
    recursively. Returns the entries in the workbench's order and whether the split is given.
    """

    def visible_dirs(folder: Path) -> list[Path]:
        return sorted(
            (p for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir()),
            key=lambda p: p.name,
        )

    def collect(folder: Path, label: str, code: int) -> None:
        seen: set[tuple[int, int]] = set()
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            st = os.stat(dirpath)
            if (st.st_dev, st.st_ino) in seen:
                dirnames.clear()
                continue
            seen.add((st.st_dev, st.st_ino))
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if not name.startswith(".") and is_image_name(name):
                    file = os.path.join(dirpath, name)
                    rel = os.path.relpath(file, root).replace(os.sep, "/")
                    entries.append((file, rel, label, code))

    entries: list[tuple[str, str, str, int]] = []
    top = visible_dirs(root)
    split_dirs = [d for d in top if d.name.lower() in SPLIT_NAMES and visible_dirs(d)]
    if split_dirs:
        for d in split_dirs:
            for c in visible_dirs(d):
                collect(c, c.name, SPLIT_NAMES[d.name.lower()])
    else:
        for c in top:
            collect(c, c.name, -1)
    entries.sort(key=lambda e: (e[3], e[2], e[1]))
    return entries, bool(split_dirs)


def read_image_index(path: Path) -> tuple[list[tuple[str, str, str, int]], bool]:
    """``(file, name, class, split code)`` of every row of a CSV index of images.

    Rows are ``image path, label`` (paths relative to the file), with an optional header
    naming the columns and an optional ``split`` column (train/val/test).
    """
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel_tab if "\t" in text.split("\n", 1)[0] else csv.excel
    rows = [[f.strip() for f in r] for r in csv.reader(io.StringIO(text, newline=""), dialect)]
    rows = [r for r in rows if any(r)]
    first = rows[0]
    header = None
    if not any(is_image_name(f) for f in first):
        header, rows = [h.lower() for h in first], rows[1:]
    width = len(header or first)
    split_col = None
    if header is None:
        path_col = next(k for k, f in enumerate(first) if is_image_name(f))
    else:
        named = [header.index(h) for h in PATH_HEADERS if h in header]
        sniffed = [k for k, f in enumerate(rows[0]) if is_image_name(f)] if rows else []
        path_col = (named or sniffed or [0])[0]
        split_col = header.index("split") if "split" in header else None
    label_col = next((k for k in range(width) if k not in (path_col, split_col)), -1)
    if header is not None:
        label_col = next((header.index(h) for h in LABEL_HEADERS if h in header), label_col)
    entries = []
    for row in rows:
        if len(row) != width or not row[path_col] or not row[label_col]:
            continue
        code = -1
        if split_col is not None:
            code = SPLIT_NAMES.get(row[split_col].lower(), -2)
            if code == -2:
                continue
        rel = row[path_col]
        file = os.path.normpath(os.path.join(path.parent, rel))
        if not os.path.isfile(file) and "\\" in rel:  # written on Windows
            file = os.path.normpath(os.path.join(path.parent, rel.replace("\\", "/")))
        if os.path.isfile(file):
            entries.append((file, rel, row[label_col], code))
    return entries, split_col is not None


def flatten_image(im: Image.Image) -> Image.Image:
    """An "L" or "RGB" image: transparency composited on white, palettes expanded, 16 bits to 8."""
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode.startswith("I") or mode == "F":
        a = np.asarray(im, dtype=np.float64)
        if mode.startswith("I;16") or (mode == "I" and a.size and a.max() > 255):
            a = a / 257.0
        elif mode == "F" and a.size and a.max() <= 1.0:
            a = a * 255.0
        im = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
    elif mode == "L" and "transparency" in im.info:
        im = im.convert("LA")
    elif mode == "RGB" and "transparency" in im.info:
        im = im.convert("RGBA")
    elif mode not in ("L", "RGB", "LA", "La", "RGBA", "RGBa"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...
    if im.mode in ("LA", "La", "RGBA", "RGBa"):
        if im.mode in ("La", "RGBa"):
            im = im.convert(im.mode[:-1] + "A")
        base = "L" if im.mode == "LA" else "RGB"
        background = Image.new(base, im.size, (255,) * len(base))
        background.paste(im.convert(base), mask=im.getchannel("A"))
        im = background
    return im


def decode_image(file: str, size: tuple[int, int], color: str) -> np.ndarray:
    """One image as a (channels, height, width) uint8 array, decoded as the workbench does.

    The first frame, flattened (see flatten_image), converted to grayscale or RGB and
    resized to (height, width) with Pillow's bilinear filter (the aspect ratio is not kept).
    """
    h, w = size
    mode = "L" if color == "grayscale" else "RGB"
    with Image.open(file) as im:
        if im.format == "JPEG":
            im.draft(mode, (w, h))  # decode large JPEGs at a reduced scale
        im.load()
        im = flatten_image(im)
        if im.mode != mode:
            im = im.convert(mode)
        if im.size != (w, h):
            im = im.resize((w, h), Image.Resampling.BILINEAR)
        a = np.asarray(im)
    return a[None].copy() if a.ndim == 2 else np.ascontiguousarray(a.transpose(2, 0, 1))


class ImageFiles(Dataset):
    """Images decoded on demand (in the DataLoader's workers): uint8 (C, H, W) and a class index."""

    def __init__(
        self, files: list[str], labels: np.ndarray, size: tuple[int, int], color: str
    ) -> None:
        self.files, self.labels, self.size, self.color = files, labels, size, color

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        try:
            pixels = decode_image(self.files[i], self.size, self.color)
        except Exception as e:
            raise RuntimeError(f"{self.files[i]}: cannot be decoded ({e}); fix or remove it") from e
        return torch.from_numpy(pixels), int(self.labels[i])


def load_datasets(config: dict[str, Any], path: Path) -> tuple[dict[str, Dataset], list[str]]:
    """The train, val and test datasets of an image folder (or CSV index), and notes."""
    pre, settings = config["preprocessing"], config["data"]
    entries, given = list_image_folder(path) if path.is_dir() else read_image_index(path)
    index = {name: k for k, name in enumerate(config["classes"])}
    notes = []
    unknown = sorted({e[2] for e in entries if e[2] not in index})
    if unknown:
        shown = ", ".join(unknown[:5])
        notes.append(f"images of classes the model does not know are left out: {shown}")
        entries = [e for e in entries if e[2] in index]
    if not entries:
        raise SystemExit(f"{path}: no images of the classes {', '.join(index)}")
    files = [e[0] for e in entries]
    labels = np.array([index[e[2]] for e in entries], dtype=np.int64)
    codes = np.array([e[3] for e in entries], dtype=np.int8) if given else None
    split = make_split(
        labels,
        "classification",
        settings["val_ratio"],
        settings["test_ratio"],
        settings["seed"],
        codes,
    )
    size = (int(pre["size"][0]), int(pre["size"][1]))
    datasets: dict[str, Dataset] = {
        name: ImageFiles([files[i] for i in idx], labels[idx], size, pre["color"])
        for name, idx in split.items()
    }
    return datasets, notes
'''

_T_IMAGE_INPUT = r'''

def make_input_transform(
    config: dict[str, Any], device: torch.device, seed: int
) -> Callable[[torch.Tensor, bool], torch.Tensor]:
    """uint8 image batches to the model's input, on the device: scale to [0, 1],@@AUG_DOC@@
    normalize with the per-channel mean and std of the workbench's training split."""
    pre = config["preprocessing"]
    scale = torch.tensor(1 / 255, dtype=torch.float32, device=device)
    mean = torch.tensor(pre["mean"], dtype=torch.float32, device=device).view(1, -1, 1, 1)
    inv_std = (1.0 / np.asarray(pre["std"], np.float64)).astype(np.float32)
    inv_std_t = torch.from_numpy(inv_std).to(device).view(1, -1, 1, 1)
@@AUG_SETUP@@
    def to_input(x: torch.Tensor, training: bool) -> torch.Tensor:
        x = x.to(torch.float32).mul_(scale)
@@AUG_CALL@@        return (x - mean).mul_(inv_std_t)

    return to_input
'''

_T_AUGMENT = r'''

def augment_batch(
    x: torch.Tensor, augment: dict[str, Any], generator: torch.Generator
) -> torch.Tensor:
    """Randomly augment a float batch (B, C, H, W) in [0, 1] as config.json's "augment" says.

    Flip, rotation and resized crop are one affine resampling per image; brightness
    multiplies by a factor in [1-b, 1+b]; contrast scales around the image's mean.
    """
    b, _, h, w = x.shape
    if b == 0:
        return x

    def uniform(lo: float, hi: float) -> torch.Tensor:
        u = torch.rand(b, generator=generator, dtype=torch.float64)
        return (u * (hi - lo) + lo).to(x.device)

    ones = torch.ones(b, dtype=torch.float64, device=x.device)
    flip = uniform(0, 1) < 0.5 if augment["hflip"] else None
    if augment["rotation"] or augment["resized_crop"]:
        r = augment["rotation"]
        angle = uniform(-r, r) * (math.pi / 180) if r else ones * 0
        if augment["resized_crop"]:
            area = uniform(0.8, 1.0)
            ratio = torch.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
            cw = torch.sqrt(area * ratio).clamp(max=1.0)
            ch = torch.sqrt(area / ratio).clamp(max=1.0)
            cx = uniform(-1, 1) * (1 - cw)
            cy = uniform(-1, 1) * (1 - ch)
        else:
            cw, ch, cx, cy = ones, ones, ones * 0, ones * 0
        sx = torch.where(flip, -cw, cw) if flip is not None else cw
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack(
            [
                torch.stack([cos * sx, -sin * (h / w) * ch, cx], dim=1),
                torch.stack([sin * (w / h) * sx, cos * ch, cy], dim=1),
            ],
            dim=1,
        ).to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    elif flip is not None:
        x = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
    if augment["brightness"]:
        bright = augment["brightness"]
        x = x * uniform(1 - bright, 1 + bright).to(x.dtype).view(b, 1, 1, 1)
    if augment["contrast"]:
        c = augment["contrast"]
        factor = uniform(1 - c, 1 + c).to(x.dtype).view(b, 1, 1, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * factor + mean
    return x.clamp(0.0, 1.0)
'''

_T_TABLE = r'''

# --- reading the table ---------------------------------------------------------------------

#: Cell texts read as a missing value (compared lower-cased, after stripping blanks).
MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "#n/a", "missing"}
DELIMITERS = (",", "\t", ";", "|")


def read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), UTF-16 with one, or Latin-1."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def sniff_delimiter(text: str, suffix: str) -> str:
    """The delimiter that splits the first lines into the most consistent number of fields."""
    lines = [line for line in text[:65536].splitlines() if line.strip()][:200]
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None

    def consistency(delim: str) -> float:
        counts = [
            len(r) for r in csv.reader(lines, delimiter=delim, skipinitialspace=delim == " ") if r
        ]
        if not counts:
            return 0.0
        k, freq = Counter(counts).most_common(1)[0]
        return freq / len(counts) if k >= 2 else 0.0

    scores = {d: consistency(d) for d in DELIMITERS}
    best = max(scores.values())
    if best <= 0:
        return " " if consistency(" ") >= 0.9 else ","
    tied = [d for d in DELIMITERS if scores[d] >= best - 1e-9]
    if sniffed in tied:
        return sniffed
    if suffix == ".tsv" and "\t" in tied:
        return "\t"
    return tied[0]


def read_table(path: Path) -> tuple[list[list[str]], str]:
    """Every row of a CSV/TSV/text table (or a Parquet file, with pyarrow) as cell texts,
    and the delimiter."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq  # pip install pyarrow

        columns = pq.read_table(path).to_pydict()
        cells = [
            ["" if v is None else str(v) for v in row]
            for row in zip(*columns.values(), strict=True)
        ]
        return [list(columns), *cells], ","
    text = read_text(path)
    delimiter = sniff_delimiter(text, path.suffix.lower())
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=delimiter == " "
    )
    return [row for row in reader if row], delimiter


def find_columns(
    path: Path, rows: list[list[str]], wanted: list[str]
) -> tuple[dict[str, int], int]:
    """The index of each wanted column, and how many rows the header takes (0 or 1).

    Columns are found by name in the first row (exactly, then ignoring case); a table
    without a header has its columns named column_1, column_2, … as in the workbench.
    """
    names: list[str] = []
    for j, raw in enumerate(rows[0]):
        name = base = raw.strip() or f"column_{j + 1}"
        k = 2
        while name in names:  # repeated names are numbered
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    lower = {n.lower(): j for j, n in reversed(list(enumerate(names)))}
    found = {w: names.index(w) if w in names else lower.get(w.lower(), -1) for w in wanted}
    if all(j >= 0 for j in found.values()):
        return found, 1
    numbered = {f"column_{j + 1}": j for j in range(len(rows[0]))}
    if all(w in numbered for w in wanted):
        return {w: numbered[w] for w in wanted}, 0
    missing = next(w for w, j in found.items() if j < 0)
    raise SystemExit(f"{path.name}: no column named {missing!r} (the model was trained with it)")


def parse_number(cell: str, decimal_comma: bool) -> float:
    """A cell's number; NaN when it is missing or not a number. "1,5" reads as 1.5 in files
    separated by semicolons or tabs."""
    s = cell.strip()
    if s.lower() in MISSING:
        return math.nan
    try:
        v = float(s)
    except ValueError:
        if not (decimal_comma and s.count(",") == 1 and "." not in s):
            return math.nan
        try:
            v = float(s.replace(",", "."))
        except ValueError:
            return math.nan
    return v if math.isfinite(v) else math.nan


def lookup(cell: str, index: dict[str, int], decimal_comma: bool) -> int | None:
    """The index of the category (or class) a cell names: by its text, or else by its number
    written as the workbench writes numbers ("3.0" is category "3")."""
    s = cell.strip()
    if s in index:
        return index[s]
    v = parse_number(s, decimal_comma)
    if math.isnan(v):
        return None
    return index.get(str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v))


def load_datasets(config: dict[str, Any], path: Path) -> tuple[dict[str, Dataset], list[str]]:
    """The train, val and test datasets of a table, encoded with the stored preprocessing.

    Numeric columns are standardized with the training split's mean and std (missing and
    non-numeric cells become 0, the mean); categorical columns are one-hot encoded over
    the training split's categories (unseen ones are all zeros, missing ones the most
    frequent). Rows without a usable target are left out.
    """
    pre, settings = config["preprocessing"], config["data"]
    features = pre["features"]
    rows, delimiter = read_table(path)
    if not rows:
        raise SystemExit(f"{path.name}: the table is empty")
    column, skip = find_columns(path, rows, [f["name"] for f in features] + [pre["target"]])
    width = len(rows[0])
    decimal_comma = delimiter != ","
    classification = config["task"] == "classification"
    class_index = {c: k for k, c in enumerate(config["classes"] or [])}
    kept: list[list[str]] = []
    targets: list[float] = []
    for row in rows[skip:]:
        if len(row) == width + 1 and not row[-1].strip():
            row = row[:-1]  # a trailing delimiter
        if len(row) != width:
            raise SystemExit(f"{path.name}: a row has {len(row)} fields but the header has {width}")
        cell = row[column[pre["target"]]]
        if classification:
            label = (
                lookup(cell, class_index, decimal_comma)
                if cell.strip().lower() not in MISSING
                else None
            )
        else:
            value = parse_number(cell, decimal_comma)
            label = None if math.isnan(value) else value
        if label is not None:
            kept.append(row)
            targets.append(label)
    notes = []
    if len(kept) < len(rows) - skip:
        notes.append(
            f"{len(rows) - skip - len(kept)} row(s) without a usable target value left out"
        )

    x = np.zeros((len(kept), pre["num_features"]), np.float32)
    incomplete = np.zeros(len(kept), bool)
    at = 0
    for f in features:
        cells = [row[column[f["name"]]] for row in kept]
        if f["type"] == "numeric":
            v = np.array([parse_number(c, decimal_comma) for c in cells], np.float64)
            missing = np.isnan(v)
            z = (v - f["mean"]) / f["std"]
            z[missing] = 0.0  # the training mean
            x[:, at] = z
            at += 1
        else:
            index = {c: k for k, c in enumerate(f["categories"])}
            fill = index.get(f["fill"]) if f.get("fill") is not None else None
            missing = np.array([c.strip().lower() in MISSING for c in cells])
            for i, c in enumerate(cells):
                k = fill if missing[i] else lookup(c, index, decimal_comma)
                if k is not None:
                    x[i, at + k] = 1.0
            at += len(index)
        incomplete |= missing

    if classification:
        y = np.array(targets, np.int64)
    else:
        y = np.array(targets, np.float32).reshape(-1, 1)
    labels = y if classification else y[:, 0]
    split = make_split(
        labels, config["task"], settings["val_ratio"], settings["test_ratio"], settings["seed"]
    )
    if pre.get("missing") == "drop":  # rows with a missing feature are not used
        split = {name: idx[~incomplete[idx]] for name, idx in split.items()}
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    datasets: dict[str, Dataset] = {
        name: TensorDataset(xt[idx], yt[idx]) for name, idx in split.items()
    }
    return datasets, notes
'''

_T_ARRAYS = r'''

# --- reading the arrays --------------------------------------------------------------------

X_KEYS = ("x", "inputs", "input", "features", "data", "images", "sequences")
Y_KEYS = ("y", "labels", "label", "targets", "target")
CLASS_KEYS = ("classes", "class_names", "label_names", "labels_names")
SPLIT_KEYS = {"train": 0, "val": 1, "valid": 1, "validation": 1, "test": 2}


def class_names(values: np.ndarray) -> list[str] | None:
    if values.ndim != 1 or values.dtype.kind not in "USiuf" or len(values) == 0:
        return None
    return [
        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values.tolist()
    ]


def load_arrays(path: Path) -> tuple[np.ndarray, np.ndarray, list[str] | None, np.ndarray | None]:
    """x, y, the class names stored with them, and split codes (Keras-style x_train, x_val…).

    An .npz holds x and y (or inputs/features… and labels/targets…, or else its first two
    arrays); a .npy pair is foo_x.npy + foo_y.npy (and optionally foo_classes.npy).
    """
    if path.suffix.lower() == ".npy":
        m = re.match(r"^(.*?)([_\-.]?)([xy])$", path.stem, re.IGNORECASE)
        if m is None:
            raise SystemExit(f"{path.name}: name the pair foo_x.npy and foo_y.npy")
        base = m.group(1) + m.group(2)
        siblings = {p.name.lower(): p for p in path.parent.iterdir()}
        if (base + "x.npy").lower() not in siblings or (base + "y.npy").lower() not in siblings:
            raise SystemExit(f"{path.name}: its partner ({base}x.npy or {base}y.npy) is missing")
        x = np.load(siblings[(base + "x.npy").lower()], allow_pickle=False)
        y = np.load(siblings[(base + "y.npy").lower()], allow_pickle=False)
        names = siblings.get((base + "classes.npy").lower())
        return x, y, class_names(np.load(names, allow_pickle=False)) if names else None, None
    with np.load(path, allow_pickle=False) as z:
        lower = {k.lower(): k for k in z.files}
        class_key = next((lower[k] for k in CLASS_KEYS if k in lower), None)
        names = class_names(z[class_key]) if class_key else None
        if "x_train" in lower and "y_train" in lower:
            xs, ys, codes = [], [], []
            for split_name, code in SPLIT_KEYS.items():
                xk, yk = lower.get(f"x_{split_name}"), lower.get(f"y_{split_name}")
                if xk is not None and yk is not None:
                    xs.append(z[xk])
                    ys.append(z[yk])
                    codes.append(np.full(len(xs[-1]), code, np.int8))
            return np.concatenate(xs), np.concatenate(ys), names, np.concatenate(codes)
        xk = next((lower[k] for k in X_KEYS if k in lower), None)
        yk = next((lower[k] for k in Y_KEYS if k in lower), None)
        rest = [k for k in z.files if k not in (class_key, xk, yk)]
        if xk is None and yk is None:
            xk, yk = rest[0], rest[1]
        elif yk is None:
            yk = rest[0]
        elif xk is None:
            xk = rest[0]
        return z[xk], z[yk], names, None


def finite_rows(a: np.ndarray) -> np.ndarray:
    """True for each sample whose values are all finite."""
    if a.dtype.kind not in "fc":
        return np.ones(len(a), bool)
    return np.isfinite(a.reshape(len(a), -1)).all(axis=1)


def class_indices(y: np.ndarray, classes: list[str], names: list[str] | None) -> np.ndarray:
    """Each sample's class index, -1 for a class the model does not know.

    One-hot rows are read as their index; integer labels index the class names stored with
    them when there are such names, and are otherwise matched to the classes by value.
    """
    if y.ndim == 2 and y.shape[1] >= 2:
        y = y.argmax(axis=1)
    y = y.reshape(len(y))
    index = {c: k for k, c in enumerate(classes)}
    if y.dtype.kind in "US":
        return np.array([index.get(v, -1) for v in y.astype(str).tolist()], np.int64)
    values = y.astype(np.int64)
    if names is not None and len(values) and values.min() >= 0 and values.max() < len(names):
        return values
    return np.array([index.get(str(v), -1) for v in values.tolist()], np.int64)


def encode_x(x: np.ndarray, pre: dict[str, Any]) -> np.ndarray:
    """Raw x rows to model input, as the workbench prepared them: the layout conversion,
    the training split's normalization, then padding (at the start) or truncating sequences."""
    layout = pre["layout"]
    if layout == "tokens":
        out = np.asarray(x, np.int64)
    else:
        out = np.asarray(x, np.float32)
        if layout == "features":
            out = out.reshape(len(out), -1)
        elif layout == "images":
            if pre.get("scale"):
                out = out * np.float32(pre["scale"])
            if out.ndim == 3:
                out = out[:, None]
            elif pre.get("channels_last"):
                out = out.transpose(0, 3, 1, 2)
        if pre.get("mean") is not None:
            mean = np.asarray(pre["mean"], np.float32)
            std = np.asarray(pre["std"], np.float32)
            if layout == "images":
                mean, std = mean[:, None, None], std[:, None, None]
            out = (out - mean) / std
        out = np.ascontiguousarray(out, dtype=np.float32)
    length = pre.get("seq_len")
    if layout in ("tokens", "sequences") and length is not None and out.shape[1] != length:
        if out.shape[1] > length:
            out = np.ascontiguousarray(out[:, out.shape[1] - length :])
        else:
            pad = [(0, 0)] * out.ndim
            pad[1] = (length - out.shape[1], 0)
            out = np.pad(out, pad)
    return out


def load_datasets(config: dict[str, Any], path: Path) -> tuple[dict[str, Dataset], list[str]]:
    """The train, val and test datasets of an .npz (or a .npy pair), and notes.

    Samples whose x or y holds NaN or infinity are left out, as in the workbench.
    """
    pre, settings = config["preprocessing"], config["data"]
    x, y, names, given = load_arrays(path)
    notes = []
    ok = finite_rows(x) & finite_rows(y)
    if config["task"] == "classification":
        labels = class_indices(y, config["classes"], names)
        if (ok & (labels < 0)).any():
            notes.append(f"{int((ok & (labels < 0)).sum())} sample(s) of unknown classes left out")
        ok &= labels >= 0
        target = torch.from_numpy(labels[ok])
    else:
        labels = np.asarray(y, np.float32)
        target = torch.from_numpy(labels[ok].reshape(int(ok.sum()), -1))
    if not ok.all():
        notes.append(
            f"{int((~ok).sum())} sample(s) left out (NaN or infinite values, or unknown classes)"
        )
    features = torch.from_numpy(encode_x(x[ok], pre))
    split = make_split(
        labels[ok],
        config["task"],
        settings["val_ratio"],
        settings["test_ratio"],
        settings["seed"],
        given[ok] if given is not None else None,
    )
    datasets: dict[str, Dataset] = {
        name: TensorDataset(features[idx], target[idx]) for name, idx in split.items()
    }
    return datasets, notes
'''

_T_PLAIN_INPUT = r'''

def make_input_transform(
    config: dict[str, Any], device: torch.device, seed: int
) -> Callable[[torch.Tensor, bool], torch.Tensor]:
    """The samples are encoded when the dataset is read: batches go to the model as they are."""
    return lambda x, training: x
'''

_T_TRAIN = r'''

# --- optimizer, learning-rate schedule, loss -----------------------------------------------


def make_optimizer(params: list[nn.Parameter], cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """The configured optimizer; weight decay is an L2 penalty (decoupled for AdamW)."""
    name, lr, wd = cfg["optimizer"], cfg["lr"], cfg["weight_decay"]
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=cfg["momentum"], nesterov=cfg["nesterov"], weight_decay=wd
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=cfg["momentum"], weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)
    raise SystemExit(f"unknown optimizer {name!r} (sgd, adam, adamw, rmsprop or adagrad)")


class LRSchedule:
    """The learning rate of every optimizer step: a linear warm-up, then the schedule.

    "step" and "exponential" lower the rate once per epoch, "cosine" and "onecycle" every
    step over the rest of the run, "plateau" when the monitored metric stops improving
    (see epoch_end); "none" keeps it.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        cfg: dict[str, Any],
        epochs: int,
        steps_per_epoch: int,
        maximize: bool,
    ) -> None:
        self.optimizer, self.cfg, self.kind, self.maximize = (
            optimizer,
            cfg,
            cfg["schedule"],
            maximize,
        )
        self.base_lr = optimizer.param_groups[0]["lr"]
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.warmup = cfg["warmup_epochs"] * self.steps_per_epoch
        self.cycle = max(1, epochs * self.steps_per_epoch - self.warmup)
        self.scale = 1.0  # the plateau reductions so far
        self.best: float | None = None
        self.bad_epochs = 0
        self.step = 0

    def factor(self, step: int) -> float:
        """The multiplier of the base rate at optimizer step ``step`` (0-based)."""
        cfg = self.cfg
        warm = (step + 1) / self.warmup if step < self.warmup else 1.0
        main = max(0, step - self.warmup)
        if self.kind == "step":
            return warm * cfg["step_gamma"] ** (main // self.steps_per_epoch // cfg["step_size"])
        if self.kind == "exponential":
            return warm * cfg["exp_gamma"] ** (main // self.steps_per_epoch)
        if self.kind == "plateau":
            return warm * self.scale
        t = min(1.0, main / self.cycle) if step >= self.warmup else 0.0
        if self.kind == "cosine":
            floor = cfg["min_lr"] / self.base_lr
            return warm * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t)))
        if self.kind == "onecycle":  # from lr/25 up to lr, then down to lr/250,000
            start, end, peak = 1 / 25, 1 / 250_000, cfg["onecycle_pct"]
            if t <= peak:
                return warm * (start + (1.0 - start) * 0.5 * (1.0 - math.cos(math.pi * t / peak)))
            u = (t - peak) / (1.0 - peak)
            return warm * (end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * u)))
        return warm

    def apply(self, step: int) -> None:
        """Set the rate for optimizer step ``step``."""
        self.step = step
        for group in self.optimizer.param_groups:
            group["lr"] = self.base_lr * self.factor(step)

    def epoch_end(self, metric: float | None) -> None:
        """The plateau schedule: lower the rate when the metric has not improved for a while."""
        if self.kind != "plateau" or metric is None or not math.isfinite(metric):
            return
        if self.step < self.warmup:
            return
        best, cfg = self.best, self.cfg
        improved = best is None or (
            metric > best * (1 + 1e-4) if self.maximize else metric < best * (1 - 1e-4)
        )
        if improved:
            self.best, self.bad_epochs = metric, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > cfg["plateau_patience"]:
            self.scale = max(cfg["min_lr"] / self.base_lr, self.scale * cfg["plateau_factor"])
            self.bad_epochs = 0


def make_loss(
    name: str, cfg: dict[str, Any]
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``loss(output, target)``, the batch mean."""
    if name == "cross_entropy":
        return lambda out, y: F.cross_entropy(out, y, label_smoothing=cfg["label_smoothing"])
    if name == "bce_with_logits":

        def bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if y.dim() == 1 and not y.is_floating_point():  # class indices: one-hot them
                y = F.one_hot(y, out.shape[-1])
            return F.binary_cross_entropy_with_logits(out.float(), y.float())

        return bce
    if name == "huber":
        return lambda out, y: F.huber_loss(
            out.float(), y.reshape(out.shape).float(), delta=cfg["huber_delta"]
        )
    regression = {"mse": F.mse_loss, "l1": F.l1_loss}
    if name not in regression:
        raise SystemExit(f"unknown loss {name!r}")
    fn = regression[name]
    return lambda out, y: fn(out.float(), y.reshape(out.shape).float())


def target_scale(
    config: dict[str, Any], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(mean, std) of the regression targets over the training split, or None.

    As in the workbench, the network learns targets in standard units, (y - mean) / std,
    so targets of any size train alike; metrics are in the targets' own units, and
    predictions are out * std + mean (model.py's TARGET_MEAN and TARGET_STD).
    """
    scale = config["preprocessing"].get("target_scale") if config["task"] == "regression" else None
    if not scale:
        return None
    mean = torch.tensor(scale["mean"], dtype=torch.float32, device=device)
    return mean, torch.tensor(scale["std"], dtype=torch.float32, device=device)


def standardized(
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    scale: tuple[torch.Tensor, torch.Tensor] | None,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``loss`` on standardized targets (unchanged without a scale)."""
    if scale is None:
        return loss
    mean, std = scale
    return lambda out, y: loss(out, (y.reshape(out.shape).float() - mean) / std)


# --- processes and metrics ------------------------------------------------------------------


def setup_processes(device_name: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device). Started by torchrun with more than one process, this
    joins the process group: NCCL on GPUs, Gloo on the CPU; each process takes one GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device_name)
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def all_reduce(t: torch.Tensor) -> torch.Tensor:
    """``t`` summed over every process (as it is, in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t)
    return t


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    to_input: Callable[[torch.Tensor, bool], torch.Tensor],
    config: dict[str, Any],
    device: torch.device,
    prefix: str = "val_",
) -> dict[str, float]:
    """Loss and accuracy (or MAE, RMSE and R²) over a loader, summed over every process."""
    classification = config["task"] == "classification"
    width = 3 if classification else 2 + 4 * int(config["num_targets"])
    sums = torch.zeros(width, dtype=torch.float64, device=device)
    scale = target_scale(config, device)
    model.eval()
    for x, y in loader:
        x, y = to_input(x.to(device), False), y.to(device)
        out = model(x)
        n = len(y)
        head = [
            loss_fn(out, y).double().reshape(1) * n,
            torch.full((1,), n, dtype=torch.float64, device=device),
        ]
        if classification:
            sums += torch.cat([*head, (out.argmax(1) == y).sum().double().reshape(1)])
        else:
            pred = out if scale is None else out * scale[1] + scale[0]  # the targets' units
            err = pred.double().reshape(n, -1) - y.double().reshape(n, -1)
            target = y.double().reshape(n, -1)
            per_target = [
                err.abs().sum(0),
                err.square().sum(0),
                target.sum(0),
                target.square().sum(0),
            ]
            sums += torch.cat([*head, *per_target])
    s = all_reduce(sums).cpu().numpy()
    n = s[1]
    if n == 0:
        return {}
    metrics = {f"{prefix}loss": s[0] / n}
    if classification:
        metrics[f"{prefix}accuracy"] = s[2] / n
    else:
        abs_err, sq_err, sum_y, sum_y2 = np.split(s[2:], 4)
        count = n * len(abs_err)
        sst = np.maximum(sum_y2 - sum_y * sum_y / n, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(sst > 0, 1.0 - sq_err / sst, np.where(sq_err == 0, 1.0, 0.0))
        metrics[f"{prefix}mae"] = abs_err.sum() / count
        metrics[f"{prefix}rmse"] = math.sqrt(sq_err.sum() / count)
        metrics[f"{prefix}r2"] = float(r2.mean())
    return {k: float(v) for k, v in metrics.items()}


def pick_monitor(cfg: dict[str, Any], has_val: bool) -> tuple[str, bool]:
    """The metric that picks the best epoch (and drives early stopping and the plateau
    schedule), and whether larger is better."""
    monitor = cfg["monitor"]
    if monitor.startswith("val_") and not has_val:
        return "train_loss", False
    known = ("train_loss", "val_loss", "val_accuracy", "val_mae", "val_rmse", "val_r2")
    if monitor not in known:
        return "val_loss", False
    if cfg["monitor_mode"] != "auto":
        return monitor, cfg["monitor_mode"] == "max"
    return monitor, monitor.endswith(("accuracy", "r2"))


def fmt(row: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in row.items())


# --- training --------------------------------------------------------------------------------


def load_config() -> dict[str, Any]:
    with open(HERE / "config.json", encoding="utf-8") as f:
        return json.load(f)


def parse_args(config: dict[str, Any], argv: list[str] | None = None) -> argparse.Namespace:
    cfg = config["training"]
    p = argparse.ArgumentParser(
        description=f"Train {config['project']} with PyTorch (exported from Model Workbench)."
    )
    p.add_argument(
        "--epochs", type=int, default=cfg["epochs"], help="epochs to train (default: %(default)s)"
    )
    p.add_argument(
        "--data",
        type=Path,
        default=Path(config["data"]["path"]),
        help="the dataset (default: %(default)s)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=cfg["batch_size"],
        help="global batch size, split across the processes (default: %(default)s)",
    )
    p.add_argument(
        "--lr", type=float, default=cfg["lr"], help="learning rate (default: %(default)s)"
    )
    p.add_argument(
        "--seed", type=int, default=cfg["seed"], help="random seed (default: %(default)s)"
    )
    p.add_argument(
        "--device", default="auto", help="auto (a GPU when there is one), cpu, cuda or cuda:N"
    )
    p.add_argument(
        "--init",
        type=Path,
        help="start from these weights (e.g. weights.pt) instead of random ones",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("trained_weights.pt"),
        help="where to save the trained weights (default: %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=WORKERS,
        help="DataLoader worker processes (default: %(default)s)",
    )
    return p.parse_args(argv)


def make_loaders(
    datasets: dict[str, Dataset],
    args: argparse.Namespace,
    rank: int,
    world: int,
    model: nn.Module,
    cuda: bool,
) -> tuple[DataLoader, DistributedSampler | None, DataLoader, DataLoader]:
    """The training loader (and its sampler under torchrun) and the val and test loaders.

    Each process gets batches of --batch-size / processes samples: the training samples
    are shared out by a DistributedSampler, validation and test samples by a stride.
    """
    per_process = max(1, args.batch_size // world)
    train_set = datasets["train"]
    if len(train_set) == 0:
        raise SystemExit("the training split is empty: lower the val and test ratios or add data")
    sampler = None
    if world > 1:
        sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=args.seed)
    samples = len(sampler) if sampler is not None else len(train_set)
    # A batch of one sample cannot train batch norm: drop such a last batch.
    has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    drop_last = has_batch_norm and samples > per_process and samples % per_process == 1
    workers = {"num_workers": args.workers, "persistent_workers": args.workers > 0}
    train_loader = DataLoader(
        train_set,
        per_process,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=drop_last,
        generator=torch.Generator().manual_seed(args.seed) if sampler is None else None,
        pin_memory=cuda,
        **workers,
    )

    def eval_loader(name: str) -> DataLoader:
        data = datasets[name]
        if world > 1:  # every process evaluates its own share, without repeats
            data = Subset(data, range(rank, len(data), world))
        return DataLoader(data, per_process * 2, pin_memory=cuda, **workers)

    return train_loader, sampler, eval_loader("val"), eval_loader("test")


def train(
    config: dict[str, Any], args: argparse.Namespace, rank: int, world: int, device: torch.device
) -> None:
    """Train as config.json says (with the command line's overrides) and save the weights."""
    cfg = {**config["training"], "lr": args.lr}
    say = print if rank == 0 else (lambda *a, **k: None)
    seed_everything(args.seed)
    if cfg["deterministic"]:
        torch.use_deterministic_algorithms(True, warn_only=True)
    if device.type == "cpu" and cfg["cpu_threads"] > 0:
        torch.set_num_threads(cfg["cpu_threads"])
    if not args.data.exists():
        raise SystemExit(f"{args.data}: no such dataset; pass its location with --data PATH")
    datasets, notes = load_datasets(config, args.data)
    for note in notes:
        say(f"note: {note}")

    model = Model().to(device)
    if args.init is not None:
        model.load_state_dict(torch.load(args.init, map_location=device, weights_only=True))
    ddp = model
    if world > 1:  # gradients are averaged over the processes in backward()
        ddp = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    cuda = device.type == "cuda"
    train_loader, sampler, val_loader, test_loader = make_loaders(
        datasets, args, rank, world, model, cuda
    )
    to_input = make_input_transform(config, device, args.seed + rank)
    loss_fn = standardized(make_loss(cfg["loss"], cfg), target_scale(config, device))
    params = [p for p in ddp.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, cfg)
    monitor, maximize = pick_monitor(cfg, has_val=len(datasets["val"]) > 0)
    if monitor != cfg["monitor"]:
        say(f"note: {monitor} picks the best epoch ({cfg['monitor']} is not computed here)")
    schedule = LRSchedule(optimizer, cfg, args.epochs, len(train_loader), maximize)
    l1_weights = [p for p in params if p.dim() >= 2] if cfg["l1"] > 0 else []
    amp = cfg["amp"] if cuda else "off"
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
    scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")

    def autocast() -> Any:
        return torch.autocast("cuda", dtype=half) if half is not None else contextlib.nullcontext()

    processes = f" x {world} processes" if world > 1 else ""
    samples, batch = len(datasets["train"]), (train_loader.batch_size or 1) * world
    epochs = f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}"
    say(
        f"training on {device}{processes} for {epochs}: {samples:,} samples, "
        f"batches of {batch}, {len(train_loader)} steps per epoch"
    )
    best_value: float | None = None
    best_epoch = 0
    best_state: dict[str, torch.Tensor] | None = None
    step = 0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        if sampler is not None:
            sampler.set_epoch(epoch)  # a different shuffle every epoch
        ddp.train()
        loss_sum = torch.zeros(2, dtype=torch.float64, device=device)
        for x, y in train_loader:
            x = to_input(x.to(device, non_blocking=True), True)
            y = y.to(device, non_blocking=True)
            schedule.apply(step)
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss = loss_fn(ddp(x), y)
            total = (
                loss + cfg["l1"] * sum(w.abs().sum() for w in l1_weights) if l1_weights else loss
            )
            scaler.scale(total).backward()
            if cfg["grad_clip"] > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(params, cfg["grad_clip"])
            scaler.step(optimizer)
            scaler.update()
            loss_sum += torch.stack(
                [
                    loss.detach().double() * len(y),
                    torch.tensor(len(y), dtype=torch.float64, device=device),
                ]
            )
            step += 1
        total_loss, seen = all_reduce(loss_sum).tolist()
        row = {"train_loss": total_loss / max(seen, 1)}
        if not math.isfinite(row["train_loss"]):
            raise SystemExit(
                f"the loss became {row['train_loss']} at epoch {epoch}: lower the learning rate "
                "or turn on gradient clipping (grad_clip in config.json)"
            )
        row.update(evaluate(model, val_loader, loss_fn, to_input, config, device))
        row["lr"] = optimizer.param_groups[0]["lr"]
        say(
            f"epoch {epoch}/{args.epochs}  {fmt(row)}  {time.perf_counter() - start:.1f}s",
            flush=True,
        )

        value = row.get(monitor)
        schedule.epoch_end(value)
        if value is not None and math.isfinite(value):
            delta = cfg["min_delta"]
            if best_value is None or (
                value > best_value + delta if maximize else value < best_value - delta
            ):
                best_value, best_epoch = value, epoch
                if cfg["restore_best"]:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if cfg["early_stop"] and best_epoch and epoch - best_epoch >= cfg["patience"]:
            say(f"stopping early: {monitor} has not improved for {cfg['patience']} epoch(s)")
            break

    if best_state is not None and best_epoch != epoch:
        model.load_state_dict(best_state)
        say(f"keeping the weights of epoch {best_epoch} (best {monitor} {best_value:.4g})")
    test = evaluate(model, test_loader, loss_fn, to_input, config, device, prefix="test_")
    if test:
        say(fmt(test))
    if rank == 0:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, args.out)
        say(f"saved the trained weights to {args.out}")


def main(argv: list[str] | None = None) -> None:
    config = load_config()
    args = parse_args(config, argv)
    if args.epochs < 1 or args.batch_size < 1:
        raise SystemExit("--epochs and --batch-size must be at least 1")
    rank, world, device = setup_processes(args.device)
    try:
        train(config, args, rank, world, device)
        if world > 1:
            dist.barrier()  # every process is done before any of them takes the group down
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''

_AUG_DOC = {
    False: '''    """uint8 image batches to the model's input, on the device: scale to [0, 1], then
    normalize with the per-channel mean and std of the workbench's training split."""''',
    True: '''    """uint8 image batches to the model's input, on the device: scale to [0, 1], augment
    (training batches only, as config.json's "augment" says), then normalize with the
    per-channel mean and std of the workbench's training split."""''',
}
_AUG_SETUP = """    augment = config["data"]["augment"]
    generator = torch.Generator().manual_seed(seed)
"""
_AUG_CALL = """        if training:
            x = augment_batch(x, augment, generator)
"""
_FITTED = {
    "image": "the image size,\ncolour mode and the mean and std of each channel",
    "table": "the columns\nused, their means and stds, and the categories",
    "arrays": "the layout,\nthe mean and std, and the sequence length",
}
#: The kinds of dataset train.py can read, by ``preprocessing["kind"]``.
KINDS = tuple(_FITTED)


def _augment_active(augment: Mapping[str, Any] | None) -> bool:
    return bool(augment) and any(bool(v) for v in (augment or {}).values())


def _train_source(config: Mapping[str, Any]) -> str:
    """The text of ``train.py`` for a :func:`_train_document`."""
    kind = config["preprocessing"]["kind"]
    head = _T_HEAD.replace("@@TITLE@@", f'"{_doc_text(config["project"])[:80]}"').replace(
        "@@FITTED@@", _FITTED[kind]
    )
    parts = [
        head,
        _T_IMPORTS[kind],
        _T_SPLIT.replace("@@WORKERS@@", "2" if kind == "image" else "0"),
    ]
    if kind == "image":
        active = _augment_active(config["data"].get("augment"))
        parts.append(_T_IMAGES)
        if active:
            parts.append(_T_AUGMENT)
        start, _, rest = _T_IMAGE_INPUT.partition('    """uint8')
        _, _, rest = rest.partition('split."""')
        parts.append(
            (start + _AUG_DOC[active] + rest)
            .replace("@@AUG_SETUP@@\n", _AUG_SETUP + "\n" if active else "\n")
            .replace("@@AUG_CALL@@", _AUG_CALL if active else "")
        )
    else:
        parts.append(_T_TABLE if kind == "table" else _T_ARRAYS)
        parts.append(_T_PLAIN_INPUT)
    parts.append(_T_TRAIN)
    return "".join(parts)


def _train_document(
    run_config: Mapping[str, Any], project_name: str, notes: list[str]
) -> dict[str, Any] | None:
    """What ``config.json`` holds for train.py, or None (with a note) when a run has no dataset."""
    from workbench.data.base import DataError, DataSettings
    from workbench.engine.config import TrainConfig, TrainError
    from workbench.engine.optim import resolve_loss

    data, pre = run_config.get("data"), run_config.get("preprocessing")
    if not data or not pre:
        notes.append(
            "train.py was not written: the run records no dataset and preprocessing to train on"
        )
        return None
    if pre.get("kind") not in KINDS:
        notes.append(
            f"train.py was not written: it cannot read datasets of kind {pre.get('kind')!r}"
        )
        return None
    try:
        training = TrainConfig.from_dict(dict(run_config.get("training") or {}))
        settings = DataSettings.from_dict(dict(data))
        task = str(run_config.get("task") or pre.get("task") or "classification")
        loss = str(run_config.get("loss") or resolve_loss(task, training))
    except (TrainError, DataError) as e:
        raise ExportError(f"the run's configuration cannot be exported: {e}") from None
    classes = run_config.get("classes")
    if task == "classification" and not classes:
        raise ExportError("the run's configuration names no classes for its classification task")
    seed = training.seed if training.seed is not None else int(run_config.get("seed") or 0)
    return {
        "format": FORMAT,
        "version": VERSION,
        "project": project_name,
        "task": task,
        "classes": list(classes) if classes else None,
        "num_targets": int(run_config.get("num_targets") or 1),
        "input_shape": list(run_config.get("input_shape") or []),
        "input_dtype": str(run_config.get("input_dtype") or "float32"),
        "training": {**training.to_dict(), "seed": seed, "loss": loss},
        "data": settings.to_dict(),
        "preprocessing": dict(pre),
    }


# --- README.md -------------------------------------------------------------------------------


def _preprocessing_text(pre: Mapping[str, Any] | None, in_spec: TensorSpec) -> str:
    """How raw samples become the model's input, for the README (train.py does it)."""
    sample = _lit(tuple(in_spec.shape))
    if not pre:
        return f"The model takes batches of {sample} {in_spec.dtype} samples."
    kind = pre.get("kind")
    if kind == "image":
        mean = ", ".join(f"{v:.4f}" for v in pre["mean"])
        std = ", ".join(f"{v:.4f}" for v in pre["std"])
        color = "grayscale" if pre["color"] == "grayscale" else "RGB"
        return (
            "Preprocessing: each image is decoded with Pillow (transparency composited on white), "
            f"converted to {color}, resized to {pre['size'][0]}x{pre['size'][1]} (height x width) "
            f"with the bilinear filter, scaled to [0, 1] and normalized per channel with mean "
            f"({mean}) and std ({std}): a {sample} float32 tensor. `decode_image` and "
            "`make_input_transform` in train.py do exactly that."
        )
    if kind == "table":
        names = [_doc_text(str(n)) for n in pre.get("feature_names", [])]
        shown = ", ".join(f"`{n}`" for n in names[:12]) + (", …" if len(names) > 12 else "")
        return (
            f"Preprocessing: each row becomes {len(names)} float32 features, in this order: {shown}. "
            "Numeric columns are standardized with the training split's mean and std (a missing "
            "value becomes 0), categorical columns one-hot encoded over the training split's "
            "categories. The means, stds and categories are in config.json; `load_datasets` in "
            "train.py applies them."
        )
    layout = pre.get("layout")
    steps = [f'converted from the file\'s layout ("{layout}") as in the workbench']
    if pre.get("mean") is not None:
        steps.append("normalized with the training split's mean and std (in config.json)")
    if layout in ("tokens", "sequences") and pre.get("seq_len") is not None:
        steps.append(f"padded at the start or truncated to {pre['seq_len']} steps")
    return (
        f"Preprocessing: each sample is {', '.join(steps)}: a {sample} {in_spec.dtype} tensor. "
        "`encode_x` in train.py does that."
    )


def _doc_text(text: str) -> str:
    """``text`` made safe inside a generated docstring or comment (one line, no quotes or escapes)."""
    text = "".join(c if c.isprintable() else " " for c in str(text))
    return " ".join(text.replace("\\", "/").replace('"', "'").split())


def _readme(
    title: str, in_spec: TensorSpec, out_text: str, train: bool, pre: Mapping[str, Any] | None
) -> str:
    dtype = "float32" if in_spec.dtype == "float32" else "int64"
    example_input = (
        f"torch.randint(0, 10, (2, {', '.join(map(str, in_spec.shape))}))"
        if dtype == "int64"
        else f"torch.randn(2, {', '.join(map(str, in_spec.shape))})"
    )
    lines = [
        f"# {_doc_text(title)}: PyTorch export",
        "",
        "Exported from Model Workbench as plain PyTorch code; nothing here imports the workbench.",
        "",
        "| File | What it is |",
        "| --- | --- |",
        "| `model.py` | the network: `class Model(nn.Module)`, one attribute per layer of the graph |",
        "| `weights.pt` | the exported weights, a state dict for `Model` |",
    ]
    if train:
        lines += [
            "| `train.py` | its training, repeated with plain PyTorch; runs under `torchrun` too |",
            "| `config.json` | what train.py reads: training settings, dataset, split, preprocessing |",
        ]
    lines += [
        "",
        "## Use the model",
        "",
        "```python",
        "import torch",
        "from model import Model",
        "",
        "model = Model()",
        'model.load_state_dict(torch.load("weights.pt", weights_only=True))',
        "model.eval()",
        "with torch.no_grad():",
        f"    out = model({example_input})",
        "```",
        "",
        f"Input: {format_shape(in_spec.shape)} {dtype}. Output: {out_text}.",
        "",
        _preprocessing_text(pre, in_spec),
        "",
        "Requirements: `torch`"
        + (" (and `numpy`" if train else "")
        + (", `Pillow`" if train and pre and pre.get("kind") == "image" else "")
        + (" for train.py)." if train else "."),
        "",
        "## Train",
        "",
    ]
    if not train:
        lines += [
            "This export has no training run with a dataset, so there is no train.py. Train the "
            "model in Model Workbench and export the run to get one.",
            "",
        ]
        return "\n".join(lines)
    lines += [
        "```sh",
        "python train.py                       # the exported configuration, on a GPU if there is one",
        "python train.py --epochs 20           # more epochs",
        "python train.py --data /other/place   # the dataset moved (same layout and columns)",
        "python train.py --init weights.pt     # continue from the exported weights",
        "torchrun --standalone --nproc_per_node=4 train.py   # 4 processes (GPUs) on this machine",
        "```",
        "",
        "Other options: `--batch-size` (the global batch, split across processes), `--lr`, "
        "`--seed`, `--device` (`auto`, `cpu`, `cuda`, `cuda:N`), `--workers` (DataLoader "
        "processes) and `--out` (where the trained weights go; default `trained_weights.pt` in "
        "the current folder, written by rank 0). Other settings (optimizer, schedule, loss, "
        "regularization, early stopping) are read from `config.json`; edit it to change them.",
        "",
        "Each epoch prints the training loss, the validation loss and accuracy (MAE, RMSE and R² "
        "for regression) and the learning rate; the test split is evaluated at the end.",
        "",
        "Several machines: start the same command on each, e.g. "
        "`torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 train.py`. "
        "Processes use NCCL on GPUs and Gloo on CPUs. Every process reads the whole dataset "
        "from `--data`, so it must be reachable at that path on every machine.",
        "",
        "The split into training, validation and test samples is the workbench's: the same "
        "ratios and seed (in config.json) give the same samples, and the preprocessing uses the "
        "statistics fitted in the workbench, not ones recomputed here. Training itself starts "
        "from a fresh random initialisation (unless `--init`), and batches are shuffled by "
        "PyTorch's samplers, so losses differ from the workbench's run in their digits.",
        "",
    ]
    return "\n".join(lines)


# --- writing and verifying ---------------------------------------------------------------------


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _sample_input(graph: Graph, analysis: Analysis, order: Sequence[str]) -> torch.Tensor:
    spec = _output_spec(analysis, graph.of_type("Input")[0].id)
    gen = torch.Generator().manual_seed(0)
    shape = (VERIFY_BATCH, *spec.shape)
    if spec.dtype == "int64":
        sizes = [
            graph.nodes[n].params["num_embeddings"]
            for n in order
            if graph.nodes[n].type == "Embedding"
        ]
        vocab = min(sizes, default=2)
        return torch.randint(0, vocab, shape, generator=gen)
    return torch.randn(shape, generator=gen)


def _verify(graph: Graph, state_dict: Mapping[str, torch.Tensor], folder: Path) -> float:
    """Import ``folder``'s model.py in a fresh namespace, load its weights.pt and compare it
    with the workbench model on a random batch; returns the largest difference."""
    from workbench.engine.compiler import GraphModule

    analysis = _analysis(graph)
    reference = GraphModule(graph, analysis)
    try:
        reference.load_state_dict(dict(state_dict))
    except RuntimeError as e:
        raise ExportError(f"the weights do not fit the model ({one_line(e)})") from None
    try:
        # compiled from its text, not imported: an import would leave __pycache__ in the export
        name = f"_workbench_python_export_{uuid.uuid4().hex}"
        source_path = folder / "model.py"
        module = types.ModuleType(name)
        module.__file__ = str(source_path)
        sys.modules[name] = module
        try:
            exec(compile(source_path.read_text(encoding="utf-8"), str(source_path), "exec"), module.__dict__)
        finally:
            sys.modules.pop(name, None)
        model = module.Model()
        model.load_state_dict(
            torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)
        )
        x = _sample_input(graph, analysis, _needed(graph, analysis))
        reference.eval()
        model.eval()
        with torch.no_grad():
            expected, got = reference(x), model(x)
    except Exception as e:  # whatever the generated code raises is an export failure
        raise ExportError(f"the generated model.py failed its check: {one_line(e)}") from e
    if got.shape != expected.shape:
        raise ExportError(
            f"the generated model.py gives outputs of shape {tuple(got.shape)}, not {tuple(expected.shape)}"
        )
    diff = float((got.double() - expected.double()).abs().max()) if got.numel() else 0.0
    if not math.isfinite(diff) or diff > TOLERANCE:
        raise ExportError(
            f"the generated model.py does not match the workbench model (largest difference {diff:.3g})"
        )
    return diff


def _is_previous_export(folder: Path) -> bool:
    """True for an empty folder or one this module wrote (so it may be replaced)."""
    try:
        entries = list(folder.iterdir())
        if not entries:
            return True
        with open(folder / "model.py", encoding="utf-8") as f:
            return MARKER in " ".join(f.read(1000).split())
    except (OSError, UnicodeDecodeError):
        return False


def _replace_folder(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``, moving an existing ``target`` away only for the swap.

    A Ctrl+C meanwhile is raised once the swap is over (:func:`interrupts_held`), so the
    target is never missing and no half-removed old folder is left beside it.
    """
    with interrupts_held():
        if not target.exists():
            os.replace(new, target)
            return
        backup = new.with_name(new.name + ".old")
        os.replace(target, backup)
        try:
            os.replace(new, target)
        except BaseException:
            os.replace(backup, target)
            raise
        shutil.rmtree(backup, ignore_errors=True)


def export_python(
    graph: Graph,
    state_dict: Mapping[str, torch.Tensor],
    run_config: Mapping[str, Any] | None,
    out_dir: str | os.PathLike[str],
    *,
    project_name: str = "model",
) -> PythonExportReport:
    """Write the model as PyTorch code, its weights and (from a run) its training script.

    Args:
        graph: The model graph (a run's ``config.json`` ``graph`` for a trained model).
        state_dict: The workbench model's weights (``layers.<node id>.…`` keys), e.g. a
            checkpoint's ``model`` entry or ``compile_graph(graph).state_dict()``.
        run_config: A run's ``config.json`` (data settings, training configuration,
            preprocessing, classes, task), or None for an untrained export: then only
            model.py, weights.pt and README.md are written. train.py and config.json are
            written when the run has a dataset with recorded preprocessing.
        out_dir: The folder to write. An existing folder is replaced only when it is empty
            or an earlier Python export, and only once the new one has been verified.
        project_name: Shown in the generated files' docstrings and the README.

    Returns:
        The folder, the files written, the largest output difference and notes.

    Raises:
        ExportError: the graph has errors, the weights do not fit it, the folder cannot
            be written or replaced, or the generated model does not match (within
            :data:`TOLERANCE`); nothing is left behind then.
    """
    target = Path(out_dir)
    if target.exists() and (not target.is_dir() or not _is_previous_export(target)):
        raise ExportError(
            f"{target}: exists and is not an earlier Python export; choose a new folder"
        )
    notes: list[str] = []
    analysis = _analysis(graph)
    classes = run_config.get("classes") if run_config else None
    pre = (run_config or {}).get("preprocessing") or {}
    scale = pre.get("target_scale") if (run_config or {}).get("task") == "regression" else None
    source = _model_source(graph, title=project_name, classes=classes, target_scale=scale)
    weights = rename_state_dict(graph, state_dict)
    document = _train_document(run_config, project_name, notes) if run_config is not None else None
    if run_config is None:
        notes.append(
            "train.py and config.json were not written: an untrained export has no dataset to train on"
        )
    train = _train_source(document) if document is not None else None
    if train is not None:
        compile(train, "train.py", "exec")  # a template error is a bug: fail loudly here
        notes.append(
            "train.py repeats the workbench's split (same ratios and seed) and preprocessing; "
            "it starts from random weights unless given --init weights.pt"
        )
    in_spec = _output_spec(analysis, graph.of_type("Input")[0].id)
    readme = _readme(
        project_name,
        in_spec,
        _describe_output(graph.of_type("Output")[0], classes),
        train is not None,
        document["preprocessing"] if document else None,
    )

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as e:
        raise ExportError(f"{target}: cannot be written ({e.strerror or e})") from None
    try:
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 is not what an exported folder should have
        _write(tmp / "model.py", source.encode("utf-8"))
        with open(tmp / "weights.pt", "wb") as f:
            torch.save(weights, f)
            f.flush()
            os.fsync(f.fileno())
        if train is not None and document is not None:
            _write(tmp / "train.py", train.encode("utf-8"))
            _write(tmp / "config.json", (json.dumps(document, indent=2) + "\n").encode("utf-8"))
        _write(tmp / "README.md", readme.encode("utf-8"))
        diff = _verify(graph, state_dict, tmp)
        names = sorted(p.name for p in tmp.iterdir())
        _replace_folder(tmp, target)
    except ExportError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"{target}: cannot be written ({e.strerror or e})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PythonExportReport(target, [target / n for n in names], diff, notes)


__all__ = [
    "FORMAT",
    "KINDS",
    "TOLERANCE",
    "PythonExportReport",
    "attribute_names",
    "export_python",
    "model_source",
    "rename_state_dict",
]
