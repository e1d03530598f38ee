"""From parsed nodes to what a viewer draws: nodes, edges, the tree of scopes, and notes.

* A node's **scope** is its name up to the last ``/``; every prefix is a
  scope, with its child scopes (in the order they appear), how many nodes it
  holds directly (``nodes``) and in all (``total``), and, for graphs
  stepscope wrote, the module it is and the parameters it holds.
* An **edge** is one input of one node: two inputs from the same tensor are
  two edges (``to_input`` tells them apart); each carries the shape and dtype
  of the tensor when the producer says them (``_output_shapes``).
* What is wrong does not stop the drawing: inputs that name no node,
  duplicate names and cycles are **notes**.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stepscope.plugins.graphs.attrs import attr_json, shape_list, type_name
from stepscope.plugins.graphs.parse import LIFTED, RawNode, Truncated
from stepscope.proto import graph_pb2, run_metadata_pb2

#: At most this many notes of one kind are listed (the last one says how many more).
MAX_NOTES = 50
_CYCLE_SHOWN = 20


@dataclass
class Output:
    shape: list[int] | None  # None: rank unknown; -1: a dimension unknown
    dtype: str | None


@dataclass
class Node:
    name: str
    op: str
    scope: str
    inputs: list[str]
    device: str = ""
    outputs: list[Output] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    module: dict[str, str] | None = None  # {"path", "class"}
    param: dict[str, Any] | None = None  # {"name", "shape", "dtype", "kind"}
    stats: dict[str, Any] | None = (
        None  # {"compute_micros", "memory_bytes", "peak_bytes", "devices"}
    )


@dataclass
class Edge:
    source: str
    target: str
    source_output: int
    target_input: int
    control: bool = False
    shape: list[int] | None = None
    dtype: str | None = None


@dataclass
class Scope:
    name: str
    parent: str | None
    children: list[str] = field(default_factory=list)
    nodes: int = 0
    total: int = 0
    module: dict[str, str] | None = None
    params: list[dict[str, Any]] = field(default_factory=list)
    param_count: int = 0


@dataclass
class Note:
    kind: str  # "dangling_input", "duplicate_name", "cycle", "truncated", "library", ...
    message: str
    nodes: list[str] = field(default_factory=list)


@dataclass
class Assembled:
    nodes: list[Node]
    edges: list[Edge]
    scopes: list[Scope]
    notes: list[Note]
    truncated_attrs: int


def assemble(raw: list[RawNode], stats: run_metadata_pb2.StepStats | None = None) -> Assembled:
    """Nodes, edges, scopes and notes of a parsed graph (with step stats, when given)."""
    notes: list[Note] = []
    nodes, truncated = _nodes(raw, notes)
    by_name = {node.name: node for node in nodes}
    if stats is not None:
        _join_stats(by_name, stats)
    edges = _edges(nodes, by_name, notes)
    _cycles(nodes, edges, notes)
    return Assembled(nodes, edges, _scopes(nodes), notes, truncated)


# -- nodes --------------------------------------------------------------------------------


def _nodes(raw: list[RawNode], notes: list[Note]) -> tuple[list[Node], int]:
    nodes: list[Node] = []
    taken: set[str] = set()
    duplicates: list[str] = []
    truncated = 0
    for found in raw:
        name = found.name or "(unnamed)"
        if name in taken:
            duplicates.append(name)
            number = 2
            while f"{name} ({number})" in taken:
                number += 1
            name = f"{name} ({number})"
        taken.add(name)
        node = Node(name, found.op, name.rpartition("/")[0], list(found.inputs), found.device)
        truncated += _lift(node, found.attrs)
        nodes.append(node)
    if duplicates:
        message = f"{_some(duplicates)}: node names used more than once; the later ones renamed"
        notes.append(Note("duplicate_name", message, duplicates[:_CYCLE_SHOWN]))
    return nodes, truncated


def _lift(node: Node, attrs: dict[str, graph_pb2.AttrValue | Truncated]) -> int:
    """Fill the node's own fields from the attributes stepscope writes; the rest as JSON."""
    truncated = 0
    for key, value in attrs.items():
        if key in LIFTED and isinstance(value, graph_pb2.AttrValue):
            continue
        node.attrs[key] = attr_json(value)
        truncated += isinstance(value, Truncated)
    node.outputs = _outputs(attrs)
    text = {key: _text(attrs.get(key)) for key in ("_module", "_module_class", "_param")}
    if text["_module_class"]:
        node.module = {"path": text["_module"], "class": text["_module_class"]}
    if text["_param"]:
        first = node.outputs[0] if node.outputs else Output(None, None)
        kind = "parameter" if node.op == "Parameter" else "buffer"
        node.param = {
            "name": text["_param"],
            "shape": first.shape,
            "dtype": first.dtype,
            "kind": kind,
        }
    return truncated


def _text(value: graph_pb2.AttrValue | Truncated | None) -> str:
    if isinstance(value, graph_pb2.AttrValue) and value.WhichOneof("value") == "s":
        return value.s.decode("utf-8", "replace")
    return ""


def _outputs(attrs: dict[str, graph_pb2.AttrValue | Truncated]) -> list[Output]:
    shapes_attr, types_attr = attrs.get("_output_shapes"), attrs.get("_output_types")
    shapes = list(shapes_attr.list.shape) if isinstance(shapes_attr, graph_pb2.AttrValue) else []
    types = list(types_attr.list.type) if isinstance(types_attr, graph_pb2.AttrValue) else []
    if not types:
        # TensorFlow's nodes name their one type "T" or "dtype".
        for key in ("T", "dtype"):
            single = attrs.get(key)
            if isinstance(single, graph_pb2.AttrValue) and single.WhichOneof("value") == "type":
                types = [single.type] * max(1, len(shapes))
                break
    count = max(len(shapes), len(types))
    return [
        Output(
            shape_list(shapes[i]) if i < len(shapes) else None,
            type_name(types[i]) if i < len(types) else None,
        )
        for i in range(count)
    ]


# -- edges --------------------------------------------------------------------------------


def parse_input(name: str, known: dict[str, Node]) -> tuple[str, int, bool]:
    """``(node, output, control)`` of an input: ``node``, ``node:k`` or ``^node``."""
    if name.startswith("^"):
        return name[1:], 0, True
    if name in known:
        return name, 0, False
    base, _, slot = name.rpartition(":")
    if base and slot.isdigit():
        return base, int(slot), False
    return name, 0, False


def _edges(nodes: list[Node], by_name: dict[str, Node], notes: list[Note]) -> list[Edge]:
    edges = []
    dangling: dict[str, list[str]] = {}
    for node in nodes:
        for position, given in enumerate(node.inputs):
            source, slot, control = parse_input(given, by_name)
            producer = by_name.get(source)
            if producer is None:
                dangling.setdefault(source, []).append(node.name)
                continue
            out = producer.outputs[slot] if slot < len(producer.outputs) else None
            edges.append(
                Edge(
                    source,
                    node.name,
                    slot,
                    position,
                    control,
                    out.shape if out and not control else None,
                    out.dtype if out and not control else None,
                )
            )
    for missing, users in list(dangling.items())[:MAX_NOTES]:
        notes.append(
            Note(
                "dangling_input",
                f"{missing!r} is an input of {_some(users)} but no node has that name",
                [missing, *users[:_CYCLE_SHOWN]],
            )
        )
    if len(dangling) > MAX_NOTES:
        notes.append(
            Note("dangling_input", f"and {len(dangling) - MAX_NOTES} more inputs that name no node")
        )
    return edges


def _some(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _cycles(nodes: list[Node], edges: list[Edge], notes: list[Note]) -> None:
    """Note each group of nodes that reach each other (Tarjan's algorithm, without recursion)."""
    index = {node.name: i for i, node in enumerate(nodes)}
    successors: list[list[int]] = [[] for _ in nodes]
    for edge in edges:
        successors[index[edge.source]].append(index[edge.target])
    found = 0
    for component in _strongly_connected(successors):
        if len(component) == 1 and component[0] not in successors[component[0]]:
            continue
        found += 1
        if found > MAX_NOTES:
            continue
        names = [nodes[i].name for i in sorted(component)]
        notes.append(
            Note(
                "cycle",
                f"{len(names)} nodes form a cycle ({_some(names)}); drawn as written",
                names[:_CYCLE_SHOWN],
            )
        )


def _strongly_connected(successors: list[list[int]]) -> Iterable[list[int]]:
    count = len(successors)
    order = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    stack: list[int] = []
    counter = 0
    for root in range(count):
        if order[root] != -1:
            continue
        work = [(root, 0)]
        while work:
            vertex, child = work.pop()
            if child == 0:
                order[vertex] = low[vertex] = counter
                counter += 1
                stack.append(vertex)
                on_stack[vertex] = True
            if child < len(successors[vertex]):
                work.append((vertex, child + 1))
                nxt = successors[vertex][child]
                if order[nxt] == -1:
                    work.append((nxt, 0))
                elif on_stack[nxt]:
                    low[vertex] = min(low[vertex], order[nxt])
                continue
            for nxt in successors[vertex]:
                if on_stack[nxt] and order[nxt] > order[vertex]:
                    low[vertex] = min(low[vertex], low[nxt])
            if low[vertex] == order[vertex]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == vertex:
                        break
                yield component


# -- scopes -------------------------------------------------------------------------------


def _scopes(nodes: list[Node]) -> list[Scope]:
    scopes: dict[str, Scope] = {"": Scope("", None)}
    for node in nodes:
        _scope(scopes, node.scope).nodes += 1
        path: str | None = node.scope
        while path is not None:
            scopes[path].total += 1
            if node.param is not None and node.param["kind"] == "parameter":
                scopes[path].param_count += _elements(node.param["shape"])
            path = scopes[path].parent
        scope = scopes[node.scope]
        if node.module is not None and scope.module is None:
            scope.module = dict(node.module)
        if node.param is not None:
            scope.params.append(dict(node.param))
    return list(scopes.values())


def _scope(scopes: dict[str, Scope], name: str) -> Scope:
    found = scopes.get(name)
    if found is None:
        parent = name.rpartition("/")[0] if "/" in name else ""
        _scope(scopes, parent).children.append(name)
        found = scopes[name] = Scope(name, parent)
    return found


def _elements(shape: list[int] | None) -> int:
    if shape is None or any(size < 0 for size in shape):
        return 0
    total = 1
    for size in shape:
        total *= size
    return total


# -- step stats ---------------------------------------------------------------------------


def _join_stats(by_name: dict[str, Node], stats: run_metadata_pb2.StepStats) -> None:
    """Each node's compute time and memory from step stats (summed over devices)."""
    for device in stats.dev_stats:
        for measured in device.node_stats:
            node = by_name.get(measured.node_name) or by_name.get(measured.node_name.split(":")[0])
            if node is None:
                continue
            found = node.stats or {
                "compute_micros": 0,
                "memory_bytes": 0,
                "peak_bytes": 0,
                "devices": [],
            }
            micros = measured.all_end_rel_micros or measured.all_end_rel_nanos // 1000
            found["compute_micros"] += int(micros)
            found["memory_bytes"] += sum(int(m.total_bytes) for m in measured.memory)
            found["peak_bytes"] += sum(int(m.peak_bytes) for m in measured.memory)
            if device.device not in found["devices"]:
                found["devices"].append(device.device)
            node.stats = found
