"""Make a model fit a dataset: the Input takes the data's shape, the Output its classes.

Each change comes back as a note for the user ("Input shape changed from … to …").
:func:`check_fit` says beforehand whether that is enough: a table cannot go through
an image model however its Input is set, and then the template that suits the data
is offered instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workbench.core.catalog import format_shape
from workbench.core.graph import Graph
from workbench.core.shapes import analyze


def adapt_graph(
    graph: Graph,
    input_shape: tuple[int, ...],
    input_dtype: Literal["float32", "int64"],
    task: Literal["classification", "regression"],
    num_classes: int | None,
    num_targets: int = 1,
    vocab_size: int | None = None,
) -> list[str]:
    """Set the Input and Output (and Embedding vocabularies) to fit a dataset, in place.

    Args:
        graph: The model to change.
        input_shape: Per-sample shape of the prepared data (batch axis left out).
        input_dtype: float32 for features and images, int64 for token ids.
        task: classification or regression.
        num_classes: Number of classes (classification).
        num_targets: Number of regression targets.
        vocab_size: For token ids: the largest id + 1; Embeddings smaller than that grow.

    Returns:
        One human-readable note per change; empty when the model already fit.
    """
    notes: list[str] = []
    for node in graph.of_type("Input"):
        shape = list(input_shape)
        if node.params["shape"] != shape or node.params["dtype"] != input_dtype:
            old = f"{format_shape(node.params['shape'])} {node.params['dtype']}"
            graph.set_params(node.id, {"shape": shape, "dtype": input_dtype})
            notes.append(
                f"Input shape changed from {old} to {format_shape(shape)} {input_dtype} to match the dataset"
            )
    for node in graph.of_type("Output"):
        before = dict(node.params)
        change: dict[str, object] = {"task": task}
        if task == "classification" and num_classes is not None:
            change["num_classes"] = max(2, int(num_classes))
        if task == "regression":
            change["num_targets"] = max(1, int(num_targets))
        graph.set_params(node.id, change)
        after = node.params
        if before != after:
            if task == "classification":
                notes.append(
                    f"Output set to classification with {after['num_classes']} classes (was {_describe(before)})"
                )
            else:
                notes.append(
                    f"Output set to regression with {after['num_targets']} target(s) (was {_describe(before)})"
                )
    if vocab_size is not None:
        for node in graph.of_type("Embedding"):
            if node.params["num_embeddings"] < vocab_size:
                old_vocab = node.params["num_embeddings"]
                graph.set_params(node.id, {"num_embeddings": int(vocab_size)})
                notes.append(
                    f"{node.id}: vocabulary grown from {old_vocab} to {vocab_size} to cover the dataset's token ids"
                )
    return notes


def _describe(params: dict[str, object]) -> str:
    if params["task"] == "classification":
        return f"classification with {params['num_classes']} classes"
    return f"regression with {params['num_targets']} target(s)"


#: Templates to try for data of each kind, best first: (dtype, per-sample rank) -> names.
_TEMPLATES_FOR: dict[tuple[str, int], tuple[str, ...]] = {
    ("float32", 1): ("mlp",),
    ("float32", 2): ("rnn",),
    ("float32", 3): ("lenet", "resnet"),
    ("int64", 1): ("gru", "transformer"),
}


@dataclass(frozen=True)
class FitCheck:
    """Whether a model can take a dataset once its Input and Output are adapted.

    Attributes:
        fits: True when adapting the Input and Output is enough.
        problem: Why it does not fit, in one sentence ('' when it fits).
        template: A template that fits the data (None when it fits or none does).
        template_title: The template's title, e.g. "MLP for tables".
        data_kind: "table", "images" or "arrays" (as the dataset calls itself).
    """

    fits: bool
    problem: str = ""
    template: str | None = None
    template_title: str = ""
    data_kind: str = "dataset"

    @property
    def action(self) -> str:
        """The offered fix as a command, e.g. "Use the MLP template for this table"."""
        if self.template is None:
            return ""
        short = self.template_title.split(" for ")[0].split(" ")[0]
        return f"Use the {short} template for {_noun(self.data_kind)}"


def _noun(data_kind: str) -> str:
    return {"table": "this table", "images": "these images"}.get(data_kind, "this data")


def _adapted_errors(
    graph: Graph,
    input_shape: tuple[int, ...],
    input_dtype: Literal["float32", "int64"],
    task: Literal["classification", "regression"],
    num_classes: int | None,
    num_targets: int,
    vocab_size: int | None,
) -> list[str]:
    g = graph.copy()
    adapt_graph(g, input_shape, input_dtype, task, num_classes, num_targets, vocab_size)
    return [f"{i.node}: {i.message}" if i.node else i.message for i in analyze(g).errors]


def check_fit(
    graph: Graph,
    input_shape: tuple[int, ...],
    input_dtype: Literal["float32", "int64"],
    task: Literal["classification", "regression"],
    num_classes: int | None,
    num_targets: int = 1,
    vocab_size: int | None = None,
    data_kind: str = "dataset",
) -> FitCheck:
    """Say whether :func:`adapt_graph` makes ``graph`` fit the data, and if not, what would.

    Nothing is changed; the arguments are those of :func:`adapt_graph`. A model
    without an Input is not judged (importing gives it none to adapt).
    """
    from workbench.core.templates import TEMPLATES

    if not graph.of_type("Input"):
        return FitCheck(True, data_kind=data_kind)
    args = (input_shape, input_dtype, task, num_classes, num_targets, vocab_size)
    errors = _adapted_errors(graph, *args)
    if not errors:
        return FitCheck(True, data_kind=data_kind)
    noun = _noun(data_kind)
    verb = "do" if noun.endswith("images") else "does"
    problem = (
        f"{noun[:1].upper()}{noun[1:]} {verb} not fit this model: with its Input set to "
        f"{format_shape(list(input_shape))} {input_dtype}, {errors[0]}"
    )
    preferred = _TEMPLATES_FOR.get((input_dtype, len(input_shape)), ())
    others = tuple(n for n in TEMPLATES if n not in preferred and n != "empty")
    for name in (*preferred, *others):
        if not _adapted_errors(TEMPLATES[name].build(), *args):
            t = TEMPLATES[name]
            return FitCheck(False, problem, name, t.title, data_kind)
    return FitCheck(False, problem, data_kind=data_kind)


def use_template(graph: Graph, name: str) -> None:
    """Replace the graph's layers, in place, with a fresh copy of template ``name``.

    In place so that it is one :meth:`Document.edit` (one undo step) like any other.

    Raises:
        KeyError: an unknown template.
    """
    from workbench.core.layout import auto_layout
    from workbench.core.templates import TEMPLATES

    fresh = TEMPLATES[name].build()
    auto_layout(fresh)
    graph.nodes = fresh.nodes
    graph.edges = fresh.edges
