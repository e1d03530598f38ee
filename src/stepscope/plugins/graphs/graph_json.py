"""The graphs kind's JSON: what ``/api/plugins/graphs/graph`` and ``/graphs`` answer.

The field names are the contract of the Graphs page (``docs/graphs.md``
documents them); everything here is JSON-safe already (attributes go through
:mod:`.attrs`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from stepscope.plugins.graphs.assemble import Edge, Node, Scope
from stepscope.plugins.graphs.read import Graph, GraphInfo
from stepscope.server.jsonable import json_number


def graph_info_json(info: GraphInfo) -> dict[str, Any]:
    """``{"run", "tag", "plugin", "kind", "step", "wall_time", "steps", "nodes", "profile", "bytes"}``."""
    found = asdict(info)
    found["wall_time"] = json_number(info.wall_time)
    return found


def graph_json(graph: Graph) -> dict[str, Any]:
    """The whole graph: nodes, edges, scopes, notes, and what was read."""
    assembled = graph.assembled
    return {
        "run": graph.run,
        "tag": graph.tag,
        "kind": graph.kind,
        "step": graph.step,
        "wall_time": json_number(graph.wall_time),
        "limit_attr_size": graph.limit_attr_size,
        "truncated_attrs": assembled.truncated_attrs,
        "stats": graph.stats,
        "nodes": [node_json(node) for node in assembled.nodes],
        "edges": [edge_json(edge) for edge in assembled.edges],
        "scopes": [scope_json(scope) for scope in assembled.scopes],
        "functions": graph.functions,
        "notes": [asdict(note) for note in assembled.notes],
    }


def node_json(node: Node) -> dict[str, Any]:
    return {
        "name": node.name,
        "op": node.op,
        "scope": node.scope,
        "inputs": node.inputs,
        "device": node.device,
        "outputs": [{"shape": out.shape, "dtype": out.dtype} for out in node.outputs],
        "attrs": node.attrs,
        "module": node.module,
        "param": node.param,
        "stats": node.stats,
    }


def edge_json(edge: Edge) -> dict[str, Any]:
    return {
        "from": edge.source,
        "to": edge.target,
        "from_output": edge.source_output,
        "to_input": edge.target_input,
        "control": edge.control,
        "shape": edge.shape,
        "dtype": edge.dtype,
    }


def scope_json(scope: Scope) -> dict[str, Any]:
    return {
        "name": scope.name,
        "parent": scope.parent,
        "children": scope.children,
        "nodes": scope.nodes,
        "total": scope.total,
        "module": scope.module,
        "params": scope.params,
        "param_count": scope.param_count,
    }
