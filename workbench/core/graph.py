"""The model graph: a directed acyclic graph of layer nodes joined by edges.

A node has one output and ``LayerType.num_inputs(params)`` numbered input ports. An
edge joins the output of ``src`` to input port ``port`` of ``dst``; an input port takes
at most one edge, an output feeds any number. The graph is plain data: it knows the
catalog (to validate params and count ports) but nothing about shapes, Qt or torch.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.core import catalog

_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: Names a node id cannot take: the compiler keeps layers in an ``nn.ModuleDict`` under
#: their ids, and these are its attributes (``training``, ``forward``, ``to``…). A test in
#: tests/engine checks the list against the installed torch.
RESERVED_IDS = frozenset(
    {
        "T_destination",
        "_apply",
        "_backward_hooks",
        "_backward_pre_hooks",
        "_buffers",
        "_call_impl",
        "_compiled_call_impl",
        "_forward_hooks",
        "_forward_hooks_always_called",
        "_forward_hooks_with_kwargs",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_get_backward_hooks",
        "_get_backward_pre_hooks",
        "_get_name",
        "_is_full_backward_hook",
        "_load_from_state_dict",
        "_load_state_dict_post_hooks",
        "_load_state_dict_pre_hooks",
        "_maybe_warn_non_full_backward_hook",
        "_modules",
        "_named_members",
        "_non_persistent_buffers_set",
        "_parameters",
        "_register_load_state_dict_pre_hook",
        "_register_state_dict_hook",
        "_replicate_for_data_parallel",
        "_save_to_state_dict",
        "_slow_forward",
        "_state_dict_hooks",
        "_state_dict_pre_hooks",
        "_version",
        "_wrapped_call_impl",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "clear",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "ipu",
        "items",
        "keys",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "pop",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "update",
        "values",
        "xpu",
        "zero_grad",
    }
)


class GraphError(ValueError):
    """An edit the graph refuses: a cycle, an unknown node, a missing port."""


@dataclass
class Node:
    """One layer in the graph."""

    id: str
    type: str
    params: dict[str, Any]
    pos: tuple[float, float] = (0.0, 0.0)

    @property
    def layer(self) -> catalog.LayerType:
        """The catalog entry of this node's type."""
        return catalog.get(self.type)

    @property
    def num_inputs(self) -> int:
        """Number of input ports."""
        return self.layer.num_inputs(self.params)


@dataclass(frozen=True, order=True)
class Edge:
    """The output of ``src`` feeds input port ``port`` of ``dst``."""

    src: str
    dst: str
    port: int = 0


@dataclass
class Graph:
    """A model as nodes and edges; see the module docstring."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    # --- building -------------------------------------------------------------------

    def new_id(self, type_name: str) -> str:
        """A fresh node id derived from the type name, e.g. ``conv2d_3``."""
        base = re.sub(r"[^a-z0-9_]", "_", type_name.lower()) or "node"
        i = 1
        while f"{base}_{i}" in self.nodes:
            i += 1
        return f"{base}_{i}"

    def add_node(
        self,
        type_name: str,
        params: Mapping[str, Any] | None = None,
        pos: tuple[float, float] = (0.0, 0.0),
        node_id: str | None = None,
    ) -> Node:
        """Add a node of ``type_name``; missing params take their defaults.

        Raises:
            GraphError: unknown type, bad params, or a taken or malformed id.
        """
        try:
            layer = catalog.get(type_name)
        except KeyError as e:
            raise GraphError(str(e.args[0])) from None
        try:
            full = layer.validate_params(params or {})
        except catalog.ParamError as e:
            raise GraphError(f"{type_name}: {e}") from None
        node_id = node_id or self.new_id(type_name)
        if not _ID_RE.match(node_id):
            raise GraphError(
                f"node id '{node_id}' must be letters, digits and _, not starting with a digit"
            )
        if node_id in RESERVED_IDS:
            raise GraphError(
                f"node id '{node_id}' is reserved (a name PyTorch modules use); choose another"
            )
        if node_id in self.nodes:
            raise GraphError(f"node id '{node_id}' is already used")
        node = Node(node_id, type_name, full, (float(pos[0]), float(pos[1])))
        self.nodes[node_id] = node
        return node

    def remove_node(self, node_id: str) -> None:
        """Remove a node and every edge touching it."""
        self._node(node_id)
        del self.nodes[node_id]
        self.edges = [e for e in self.edges if node_id not in (e.src, e.dst)]

    def set_params(self, node_id: str, params: Mapping[str, Any]) -> None:
        """Replace some params of a node (validated); edges to ports that vanish are dropped."""
        node = self._node(node_id)
        merged = {**node.params, **params}
        try:
            node.params = node.layer.validate_params(merged)
        except catalog.ParamError as e:
            raise GraphError(f"{node.type}: {e}") from None
        n = node.num_inputs
        self.edges = [e for e in self.edges if not (e.dst == node_id and e.port >= n)]

    def move_node(self, node_id: str, pos: tuple[float, float]) -> None:
        """Set a node's canvas position."""
        self._node(node_id).pos = (float(pos[0]), float(pos[1]))

    def connect(self, src: str, dst: str, port: int = 0) -> Edge:
        """Join ``src``'s output to ``dst``'s input ``port``, replacing what was there.

        Raises:
            GraphError: unknown nodes, a port that does not exist, or a cycle.
        """
        if self._node(src).type == "Output":
            raise GraphError(
                "the Output is where the model ends: connect layers into it, not out of it"
            )
        d = self._node(dst)
        if not 0 <= port < d.num_inputs:
            if d.num_inputs == 0:
                raise GraphError(f"{dst} ({d.type}) has no inputs")
            raise GraphError(f"{dst} ({d.type}) has no input port {port}")
        if src == dst or dst in self.ancestors(src):
            raise GraphError(f"connecting {src} to {dst} would make a cycle")
        self.edges = [e for e in self.edges if not (e.dst == dst and e.port == port)]
        edge = Edge(src, dst, port)
        self.edges.append(edge)
        return edge

    def disconnect(self, edge: Edge) -> None:
        """Remove ``edge`` if present."""
        self.edges = [e for e in self.edges if e != edge]

    # --- queries --------------------------------------------------------------------

    def _node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node '{node_id}'") from None

    def inputs_of(self, node_id: str) -> list[Edge | None]:
        """The edge on each input port of a node (None where a port is free)."""
        node = self._node(node_id)
        ports: list[Edge | None] = [None] * node.num_inputs
        for e in self.edges:
            if e.dst == node_id and e.port < len(ports):
                ports[e.port] = e
        return ports

    def ancestors(self, node_id: str) -> set[str]:
        """Every node from which ``node_id`` can be reached."""
        preds: dict[str, list[str]] = {}
        for e in self.edges:
            preds.setdefault(e.dst, []).append(e.src)
        seen: set[str] = set()
        stack = list(preds.get(node_id, ()))
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(preds.get(n, ()))
        return seen

    def topo_order(self) -> list[str]:
        """Node ids so that every edge goes forward (Kahn's algorithm, stable by insertion)."""
        indeg = {n: 0 for n in self.nodes}
        succ: dict[str, list[str]] = {n: [] for n in self.nodes}
        for e in self.edges:
            indeg[e.dst] += 1
            succ[e.src].append(e.dst)
        ready = [n for n in self.nodes if indeg[n] == 0]
        order: list[str] = []
        i = 0
        while i < len(ready):
            n = ready[i]
            i += 1
            order.append(n)
            for m in succ[n]:
                indeg[m] -= 1
                if indeg[m] == 0:
                    ready.append(m)
        if len(order) != len(self.nodes):  # only reachable through a hand-edited file
            raise GraphError("the graph has a cycle")
        return order

    def of_type(self, type_name: str) -> list[Node]:
        """Nodes of one type, in insertion order."""
        return [n for n in self.nodes.values() if n.type == type_name]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    # --- copy and (de)serialization -----------------------------------------------

    def copy(self) -> Graph:
        """A deep copy."""
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {
            "nodes": [
                {
                    "id": n.id,
                    "type": n.type,
                    "params": copy.deepcopy(n.params),
                    "pos": [n.pos[0], n.pos[1]],
                }
                for n in self.nodes.values()
            ],
            "edges": [{"src": e.src, "dst": e.dst, "port": e.port} for e in self.edges],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Graph:
        """Rebuild a graph from :meth:`to_dict` data, validating everything.

        Raises:
            GraphError: with a message naming the bad node or edge.
        """
        g = cls()
        for node in data["nodes"]:
            g.add_node(node["type"], node["params"], tuple(node["pos"]), node["id"])
        for e in data["edges"]:
            g.connect(e["src"], e["dst"], e["port"])
        return g

    def subgraph_dict(self, node_ids: Iterable[str]) -> dict[str, Any]:
        """The given nodes and the edges among them, for copy and paste."""
        keep = set(node_ids)
        full = self.to_dict()
        return {
            "nodes": [n for n in full["nodes"] if n["id"] in keep],
            "edges": [e for e in full["edges"] if e["src"] in keep and e["dst"] in keep],
        }

    def paste(
        self, data: Mapping[str, Any], offset: tuple[float, float] = (40.0, 40.0)
    ) -> list[str]:
        """Add a copy of ``subgraph_dict`` data with fresh ids; return the new ids."""
        mapping: dict[str, str] = {}
        for n in data["nodes"]:
            node = self.add_node(
                n["type"], n["params"], (n["pos"][0] + offset[0], n["pos"][1] + offset[1])
            )
            mapping[n["id"]] = node.id
        for e in data["edges"]:
            self.connect(mapping[e["src"]], mapping[e["dst"]], e["port"])
        return list(mapping.values())
