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
  DistributedDataParallel. These are the modules of :mod:`workbench.standalone` (with the
  ``train_*.py`` dataset readers it imports), copied as they are: config.json carries the values.
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

from workbench.core.appdirs import standalone_dir
from workbench.core.catalog import TensorSpec, format_shape, get
from workbench.core.catalog.base import LayerCode, code_literal
from workbench.core.graph import Graph, Node
from workbench.core.shapes import Analysis, analyze
from workbench.export.report import ExportError, one_line
from workbench.export.staging import interrupts_held
from workbench.standalone.train import READERS

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

#: Names the generated code uses itself; a node id equal to one of them gets a trailing _.
#: (A layer's helper class, such as PositionalEncoding, is only named in ``__init__``'s
#: expressions, which node ids never shadow: ``self.<id>`` attributes, ``forward``'s locals.)
_OWN_NAMES = ("x", "self", "torch", "nn", "math", "F", "Model")
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
    analysis: Analysis | None = None
    prefixes: dict[str, str] = {}  # each node's LayerCode.state_prefix
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        head, _, rest = key.partition(".")
        nid, _, param = rest.partition(".")
        if head != "layers" or nid not in graph.nodes or not param:
            raise ExportError(f"the weights do not belong to this model: unexpected tensor '{key}'")
        if nid not in prefixes:
            analysis = analysis or _analysis(graph)
            prefixes[nid] = _code(graph.nodes[nid], analysis).state_prefix
        wrapper = prefixes[nid]
        if wrapper and param.startswith(wrapper):
            param = param[len(wrapper) :]
        out[f"{names[nid]}.{param}"] = value.detach().to("cpu").clone().contiguous()
    return out


# --- one layer as code ---------------------------------------------------------------------


_lit = code_literal


Emit = Callable[[str, str, list[str]], list[str]]


@dataclass
class _Layer:
    """How one node reads in ``model.py``."""

    #: The constructor expression of its attribute (None: no attribute).
    init: str | None
    #: Lines of ``forward``: ``emit(output variable, attribute, input variables)``.
    emit: Emit
    #: Its code, whose helper class (if any) model.py gets once.
    code: LayerCode


def _code(node: Node, analysis: Analysis) -> LayerCode:
    """Its catalog entry's :class:`LayerCode` for the node's params and shapes."""
    code = get(node.type).code
    if code is None:  # pragma: no cover - every catalog entry has its code (a test checks)
        raise ExportError(f"the Python export does not know the layer type {node.type}")
    return code(node.params, analysis.nodes[node.id].inputs, _output_spec(analysis, node.id))


def _layer(written: LayerCode) -> _Layer:
    """How a node reads in ``model.py``, from its :class:`LayerCode`."""

    def emit(out: str, attr: str, xs: list[str]) -> list[str]:
        names = {"out": out, "attr": attr, "x": xs[0] if xs else "", "xs": ", ".join(xs)}
        return [line.format(**names, sum=" + ".join(xs)) for line in written.forward]

    return _Layer(written.init, emit, written)


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
    layers = {nid: _layer(_code(graph.nodes[nid], analysis)) for nid in order}
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
    helpers: dict[str, LayerCode] = {}  # by class name, in order of first use
    for nid in order:
        layer = layers[nid]
        if layer.init is not None:
            init.extend(_fit_line(" " * 8, f"self.{names[nid]} = ", layer.init))
        if layer.code.helper:
            helpers.setdefault(layer.code.helper, layer.code)

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
    imports = sorted({m for h in helpers.values() for m in h.imports})
    if imports:
        text += [f"import {m}" for m in imports]
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
    for helper in helpers.values():
        text += [helper.helper_source.rstrip("\n"), ""]
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
# train.py and its dataset readers are the modules of workbench.standalone, copied as they are;
# everything that varies goes into config.json beside them (see _train_document).

#: The standalone modules an export with a training script gets, by file name.
#: From the bundle's data folder in the frozen application (:func:`standalone_dir`).
TRAIN_MODULES = tuple(sorted(p.name for p in standalone_dir().glob("train*.py")))
#: The kinds of dataset train.py can read, by ``preprocessing["kind"]``.
KINDS = tuple(READERS)


def _train_files() -> dict[str, bytes]:
    """The text of train.py and of the modules it imports, by file name."""
    folder = standalone_dir()
    return {name: (folder / name).read_bytes() for name in TRAIN_MODULES}


def _train_document(
    run_config: Mapping[str, Any], project_name: str, notes: list[str]
) -> dict[str, Any] | None:
    """What ``config.json`` holds for train.py, or None (with a note) when a run has no dataset."""
    from workbench.data.base import DataError, DataSettings
    from workbench.engine.config import OPTIMIZER_SPECS, TrainConfig, TrainError
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
        # the workbench's optimizer table, so that "optimizer" can name any of them
        "optimizers": {name: spec.table_entry() for name, spec in OPTIMIZER_SPECS.items()},
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
            "`make_input_transform` in train_images.py do exactly that."
        )
    if kind == "table":
        names = [_doc_text(str(n)) for n in pre.get("feature_names", [])]
        shown = ", ".join(f"`{n}`" for n in names[:12]) + (", …" if len(names) > 12 else "")
        return (
            f"Preprocessing: each row becomes {len(names)} float32 features, in this order: {shown}. "
            "Numeric columns are standardized with the training split's mean and std (a missing "
            "value becomes 0), categorical columns one-hot encoded over the training split's "
            "categories. The means, stds and categories are in config.json; `load_datasets` in "
            "train_tables.py applies them."
        )
    layout = pre.get("layout")
    steps = [f'converted from the file\'s layout ("{layout}") as in the workbench']
    if pre.get("mean") is not None:
        steps.append("normalized with the training split's mean and std (in config.json)")
    if layout in ("tokens", "sequences") and pre.get("seq_len") is not None:
        steps.append(f"padded at the start or truncated to {pre['seq_len']} steps")
    return (
        f"Preprocessing: each sample is {', '.join(steps)}: a {sample} {in_spec.dtype} tensor. "
        "`encode_x` in train_encode.py does that."
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
            "| `train_*.py` | train.py's dataset readers (images, tables, arrays), the split, "
            "the optimizer, schedule and losses |",
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


def _sample_input(graph: Graph, analysis: Analysis, model: nn.Module) -> torch.Tensor:
    """A random batch for ``model``; integer inputs (token ids) stay below the smallest
    vocabulary of its ``nn.Embedding`` modules."""
    spec = _output_spec(analysis, graph.of_type("Input")[0].id)
    gen = torch.Generator().manual_seed(0)
    shape = (VERIFY_BATCH, *spec.shape)
    if spec.dtype == "int64":
        sizes = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)]
        return torch.randint(0, min(sizes, default=2), shape, generator=gen)
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
            exec(
                compile(source_path.read_text(encoding="utf-8"), str(source_path), "exec"),
                module.__dict__,
            )
        finally:
            sys.modules.pop(name, None)
        model = module.Model()
        model.load_state_dict(
            torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)
        )
        x = _sample_input(graph, analysis, reference)
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
    train = _train_files() if document is not None else None
    if train is not None:
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
            for name, text in train.items():
                _write(tmp / name, text)
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
