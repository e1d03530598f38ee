"""What a query from the page may do: read the index's documented views, nothing else.

A query is parsed by DuckDB itself (``json_serialize_sql``), which accepts
one or more SELECT statements only: ``COPY``, ``ATTACH``, ``INSTALL``,
``LOAD``, ``PRAGMA``, ``SET`` and every statement that writes are refused
by the parser. The tree is then walked: every table it reads must be one of
the documented views (or a CTE of the query), a table function must be one
that makes rows from its arguments (``range``...), and no function that
reaches files, the environment or other SQL (``read_csv``, ``glob``,
``getenv``, ``query``...) may appear. A CTE name counts as a table only
within the query that defines it. Behind this walk, the plugin's routes turn
DuckDB's external access off for the index when they start, so a query that
got past it still could not open a file or the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb

from stepscope.errors import UsageError
from stepscope.store.schema import VIEWS

#: Tables a query may read.
TABLES = frozenset(VIEWS)
#: Table functions that only make rows from their arguments.
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
#: Function names (or their starts) that reach outside the query's tables.
REFUSED_FUNCTIONS = (
    "read_",
    "glob",
    "getenv",
    "sniff_",
    "parquet_",
    "duckdb_",
    "query",
    "pragma_",
    "current_setting",
    "sql_",
    "json_serialize",
    "json_deserialize",
    "json_execute",
    "iceberg",
    "delta_",
    "load_",
    "install_",
)


class QueryRefusedError(UsageError):
    """A query that reaches beyond the index's views; the message says which part."""


def check_query(connection: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise :class:`QueryRefusedError` unless ``sql`` is one SELECT over the documented views."""
    tree = _parse(connection, sql)
    statements = tree.get("statements", [])
    if len(statements) != 1:
        raise QueryRefusedError(
            f"one query at a time, please: this text holds {len(statements)} statements"
        )
    for node, ctes in _nodes(tree):
        _check_node(node, ctes)


def _parse(connection: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    row = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree: dict[str, Any] = json.loads(row[0]) if row else {}
    if tree.get("error"):
        message = str(tree.get("error_message", "it does not parse"))
        if "Only SELECT statements" in message:
            raise QueryRefusedError(
                "only SELECT queries run here: the query box reads the index and changes nothing "
                "(COPY, ATTACH, INSTALL, PRAGMA, SET and writes are refused)"
            )
        raise QueryRefusedError(f"the query does not parse: {one_line(message)}")
    return tree


def _check_node(node: dict[str, Any], ctes: frozenset[str]) -> None:
    kind = node.get("type")
    if kind == "BASE_TABLE":
        name = str(node.get("table_name", "")).lower()
        qualified = node.get("catalog_name") or node.get("schema_name") not in ("", "main", None)
        if qualified or (name not in TABLES and name not in ctes):
            shown = ".".join(
                str(part)
                for part in (node.get("catalog_name"), node.get("schema_name"), name)
                if part
            )
            raise QueryRefusedError(
                f"the query reads {shown!r}, which is not one of the index's views: "
                f"query {', '.join(sorted(TABLES))}"
            )
    elif kind == "TABLE_FUNCTION":
        function = node.get("function") or {}
        name = str(function.get("function_name", "")).lower()
        if name not in TABLE_FUNCTIONS:
            raise QueryRefusedError(
                f"the table function {name}() is not allowed here: the query box reads only "
                "the index's views (files, URLs and other databases are out of its reach)"
            )
    if node.get("class") == "FUNCTION" or kind == "FUNCTION":
        name = str(node.get("function_name", "")).lower()
        if name.startswith(REFUSED_FUNCTIONS):
            raise QueryRefusedError(
                f"the function {name}() is not allowed here: it reaches outside the index"
            )


def _nodes(tree: Any) -> Iterator[tuple[dict[str, Any], frozenset[str]]]:
    """Every object of the parse tree, depth first, with the CTE names in scope there.

    A query node's ``WITH`` names hold for that node and what it contains
    (its body, its subqueries, its CTEs), never beside it: a CTE defined in a
    subquery does not make the same name a valid table elsewhere.
    """
    stack: list[tuple[Any, frozenset[str]]] = [(tree, frozenset())]
    while stack:
        item, ctes = stack.pop()
        if isinstance(item, dict):
            cte_map = item.get("cte_map")
            if isinstance(cte_map, dict):
                named = [
                    e["key"] for e in cte_map.get("map", []) if isinstance(e, dict) and "key" in e
                ]
                ctes = ctes | {str(name).lower() for name in named}
            yield item, ctes
            stack.extend((value, ctes) for value in item.values())
        elif isinstance(item, list):
            stack.extend((value, ctes) for value in item)


def one_line(message: str) -> str:
    return " ".join(message.split())
