"""Layer types: recurrent (see base.LayerType)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workbench.core.catalog.base import (
    CodeFn,
    LayerCode,
    LayerType,
    Param,
    TensorSpec,
    code_call,
    require_float,
    require_rank,
)

P = Mapping[str, Any]
S = Sequence[TensorSpec]


# --- the layers' code in an exported model.py (see base.LayerCode) --------------------


def _rnn_code(kind: str) -> CodeFn:
    def code(p: P, xs: S, out: TensorSpec) -> LayerCode:
        kw: dict[str, Any] = {}
        if p["num_layers"] > 1:
            kw["num_layers"] = p["num_layers"]
        if kind == "RNN" and p["nonlinearity"] != "tanh":
            kw["nonlinearity"] = p["nonlinearity"]
        kw["batch_first"] = True
        if p["bidirectional"]:
            kw["bidirectional"] = True
        if p["num_layers"] > 1 and p["dropout"]:
            kw["dropout"] = p["dropout"]
        init = code_call(f"nn.{kind}", xs[0].shape[-1], p["hidden_size"], **kw)
        hidden = p["hidden_size"]
        lines = ["{out}, _ = self.{attr}({x})"]
        # The forward direction ends at the last step, the backward one at the first.
        if p["output"] == "last" and p["bidirectional"]:
            ends = "({out}[:, -1, :" + str(hidden) + "], {out}[:, 0, " + str(hidden) + ":])"
            lines.append("{out} = torch.cat(" + ends + ", dim=1)  # each direction's final output")
        elif p["output"] == "last":
            lines.append("{out} = {out}[:, -1]  # the last time step")
        # The workbench's module wraps the torch one as .rnn (model.py does not).
        return LayerCode(init, tuple(lines), state_prefix="rnn.")

    return code


#: Weight blocks per cell: one per gate (plus the candidate state).
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
#: Rough element-wise operations per hidden unit and time step (activations, gating).
ELEMENTWISE = {"RNN": 2, "GRU": 10, "LSTM": 10}


def _common_params() -> tuple[Param, ...]:
    return (
        Param(
            "hidden_size",
            "int",
            64,
            "Size H of the hidden state, i.e. output features per direction.",
            minimum=1,
            maximum=100_000,
            label="Hidden size",
        ),
        Param(
            "num_layers",
            "int",
            1,
            "Recurrent layers stacked on top of each other.",
            minimum=1,
            maximum=8,
            label="Layers",
        ),
        Param(
            "bidirectional",
            "bool",
            False,
            "Also read the sequence backwards; doubles the output features.",
        ),
        Param(
            "output",
            "choice",
            "last",
            "last: only the final step's output (N, H); sequence: every step's (N, T, H).",
            choices=("last", "sequence"),
        ),
        Param(
            "dropout",
            "float",
            0.0,
            "Dropout between stacked layers while training (needs 2 or more layers).",
            minimum=0.0,
            maximum=0.99,
        ),
    )


def _rnn_layer(kind: str, doc: str) -> LayerType:
    params = _common_params()
    if kind == "RNN":
        params = (
            *params[:2],
            Param(
                "nonlinearity",
                "choice",
                "tanh",
                "Activation of the hidden state.",
                choices=("tanh", "relu"),
            ),
            *params[2:],
        )

    def infer(p: P, xs: S) -> TensorSpec:
        (x,) = xs
        require_float(kind, x)
        if x.rank == 2:
            fix = "use a Reshape to (T, F) or an Embedding"
        else:
            fix = "use a Reshape to (T, F)" + (
                f", e.g. shape {x.shape[-2]} {x.shape[-1]}"
                if x.rank == 4 and x.shape[0] == 1
                else ""
            )
        require_rank(kind, x, (3,), "a sequence (N, T, F)", fix)
        features = p["hidden_size"] * (2 if p["bidirectional"] else 1)
        if p["output"] == "last":
            return TensorSpec((features,))
        return TensorSpec((x.shape[0], features))

    def build(p: P, xs: S) -> Any:
        import torch.nn as nn

        from workbench.core.catalog.engine_module import engine_module

        cls = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}[kind]
        extra = {"nonlinearity": p["nonlinearity"]} if kind == "RNN" else {}
        rnn = cls(
            xs[0].shape[-1],
            p["hidden_size"],
            num_layers=p["num_layers"],
            batch_first=True,
            bidirectional=p["bidirectional"],
            # torch warns about dropout with a single layer, where it does nothing.
            dropout=p["dropout"] if p["num_layers"] > 1 else 0.0,
            **extra,
        )
        return engine_module("Recurrent", rnn, last=p["output"] == "last")

    def matmul_weights(p: P, xs: S) -> int:
        h, dirs, g = p["hidden_size"], 2 if p["bidirectional"] else 1, GATES[kind]
        total = 0
        for layer in range(p["num_layers"]):
            inp = xs[0].shape[-1] if layer == 0 else h * dirs
            total += dirs * g * h * (inp + h)
        return total

    def count(p: P, xs: S, out: TensorSpec) -> int:
        dirs = 2 if p["bidirectional"] else 1
        biases = p["num_layers"] * dirs * 2 * GATES[kind] * p["hidden_size"]
        return matmul_weights(p, xs) + biases

    def flops(p: P, xs: S, out: TensorSpec) -> int:
        steps = xs[0].shape[0]
        dirs = 2 if p["bidirectional"] else 1
        units = p["num_layers"] * dirs * p["hidden_size"]
        return steps * (2 * matmul_weights(p, xs) + units * (2 * GATES[kind] + ELEMENTWISE[kind]))

    return LayerType(
        name=kind,
        code=_rnn_code(kind),
        group="Recurrent",
        doc=doc,
        params=params,
        infer=infer,
        build=build,
        count_params=count,
        flops=flops,
    )


RNN = _rnn_layer(
    "RNN",
    "Simple recurrent layer: reads a sequence (N, T, F) step by step, keeping a hidden state.",
)
LSTM = _rnn_layer(
    "LSTM",
    "Long short-term memory: a recurrent layer whose gates let it remember over long sequences (N, T, F).",
)
GRU = _rnn_layer(
    "GRU", "Gated recurrent unit: a lighter LSTM for sequences (N, T, F) with similar results."
)

LAYERS = [RNN, LSTM, GRU]
