"""The query box's API: read-only SELECTs over the index's views; everything else refused.

The index is filled by our SummaryWriter; answers are checked against what
was written. The refusals are the attacks a hostile page (or a curious
user) would try: reading files, writing them, attaching databases,
installing extensions, changing settings.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from stepscope import SummaryWriter
from stepscope.errors import UsageError
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.plugins.sql.read import run_query
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

LOSSES = {"a": [3.0, 2.0, 1.5], "b": [4.0, 0.5, 0.25]}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataProvider]:
    root = tmp_path_factory.mktemp("sql") / "logs"
    for run, values in LOSSES.items():
        with SummaryWriter(str(root / run)) as writer:
            for step, value in enumerate(values):
                writer.add_scalar("loss", value, step * 10)
    provider = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    provider.update()
    yield provider
    provider.index.close()


@pytest.fixture(scope="module")
def client(data: DataProvider) -> Iterator[TestClient]:
    with TestClient(create_app(data)) as found:
        yield found


def ask(client: TestClient, sql: str, **extra: object) -> tuple[int, dict]:
    answer = client.post("/api/plugins/sql/query", json={"sql": sql, **extra})
    return answer.status_code, answer.json()


def test_a_select_over_the_views_answers_columns_and_rows(client: TestClient) -> None:
    status, body = ask(
        client,
        "SELECT run, min(value) AS best, count(*) AS n FROM scalars GROUP BY run ORDER BY run",
    )
    assert status == 200
    assert body["columns"] == [
        {"name": "run", "type": "VARCHAR"},
        {"name": "best", "type": "DOUBLE"},
        {"name": "n", "type": "BIGINT"},
    ]
    assert body["rows"] == [["a", 1.5, 3], ["b", 0.25, 3]]
    assert body["truncated"] is False
    assert body["note"] is None


def test_ctes_joins_and_row_functions_are_allowed(client: TestClient) -> None:
    status, body = ask(
        client,
        "WITH last AS (SELECT run, max(step) AS step FROM scalars GROUP BY run) "
        "SELECT s.run, s.value FROM scalars s JOIN last USING (run, step) "
        "CROSS JOIN range(1) ORDER BY s.run",
    )
    assert status == 200
    assert body["rows"] == [["a", 1.5], ["b", 0.25]]


def test_a_result_of_a_million_rows_answers_the_first_ones_with_a_note(
    client: TestClient,
) -> None:
    status, body = ask(client, "SELECT * FROM range(1000000)", limit=50)
    assert status == 200
    assert len(body["rows"]) == 50
    assert body["rows"][:2] == [[0], [1]]
    assert body["truncated"] is True
    assert body["note"].startswith("Showing the first 50 rows")


def test_csv_answers_the_rows_as_csv(client: TestClient) -> None:
    answer = client.post(
        "/api/plugins/sql/query",
        json={
            "sql": "SELECT run, step, value FROM scalars WHERE run = 'b' ORDER BY step",
            "format": "csv",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows == [
        ["run", "step", "value"],
        ["b", "0", "4.0"],
        ["b", "10", "0.5"],
        ["b", "20", "0.25"],
    ]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "the table function read_csv() is not allowed"),
        ("SELECT * FROM read_text('/etc/passwd')", "the table function read_text() is not allowed"),
        ("SELECT * FROM '/etc/passwd'", "'/etc/passwd', which is not one of the index's views"),
        ("SELECT * FROM 'https://example.invalid/x.parquet'", "not one of the index's views"),
        ("SELECT * FROM glob('/*')", "the table function glob() is not allowed"),
        ("SELECT * FROM query('SELECT 1')", "the table function query() is not allowed"),
        ("SELECT * FROM duckdb_settings()", "the table function duckdb_settings() is not allowed"),
        ("SELECT getenv('HOME')", "the function getenv() is not allowed"),
        ("SELECT * FROM _scalars", "'_scalars', which is not one of the index's views"),
        ("SELECT * FROM other.main.scalars", "not one of the index's views"),
        ("COPY (SELECT * FROM scalars) TO '/tmp/stolen.csv'", "only SELECT queries run here"),
        ("ATTACH '/tmp/other.duckdb' AS other", "only SELECT queries run here"),
        ("INSTALL httpfs", "only SELECT queries run here"),
        ("LOAD httpfs", "only SELECT queries run here"),
        ("PRAGMA database_list", "only SELECT queries run here"),
        ("SET enable_external_access = true", "only SELECT queries run here"),
        ("DELETE FROM scalars", "only SELECT queries run here"),
        ("CREATE TABLE x AS SELECT 1", "only SELECT queries run here"),
        ("SELECT 1; DROP TABLE _runs", "only SELECT queries run here"),
        ("SELECT 1; SELECT 2", "one query at a time"),
        # A CTE's name is a table only inside the query that defines it.
        (
            'SELECT (WITH "/etc/passwd" AS (SELECT 1) SELECT 1), * FROM "/etc/passwd"',
            "'/etc/passwd', which is not one of the index's views",
        ),
        ("SELECT (WITH _runs AS (SELECT 1) SELECT 1), * FROM _runs", "'_runs', which is not"),
        (
            "SELECT (WITH duckdb_databases AS (SELECT 1) SELECT 1) x, path FROM duckdb_databases",
            "'duckdb_databases', which is not",
        ),
    ],
)
def test_what_reaches_beyond_the_views_is_refused_with_the_reason(
    client: TestClient, sql: str, reason: str
) -> None:
    status, body = ask(client, sql)
    assert status == 400
    message = body["error"]["message"]
    assert reason in message
    assert "\n" not in message


def test_the_index_is_unchanged_after_the_refusals(client: TestClient) -> None:
    status, body = ask(client, "SELECT count(*) FROM scalars")
    assert (status, body["rows"]) == (200, [[6]])


def test_a_failing_query_says_duckdbs_reason_in_one_line(client: TestClient) -> None:
    status, body = ask(client, "SELECT nope FROM scalars")
    assert status == 400
    message = body["error"]["message"]
    assert message.startswith("the query failed: Binder Error")
    assert "nope" in message
    assert "\n" not in message
    status, body = ask(client, "SELEC 1")
    assert status == 400
    assert body["error"]["message"].startswith("the query does not parse:")


def test_a_bad_limit_or_an_empty_query_is_a_400(client: TestClient) -> None:
    assert ask(client, "SELECT 1", limit=0)[0] == 400
    assert ask(client, "SELECT 1", limit=10_001)[0] == 400
    assert ask(client, "")[0] == 400


def test_a_query_that_runs_too_long_is_stopped(data: DataProvider) -> None:
    slow = "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range < 0"
    with pytest.raises(UsageError, match=r"ran for more than 0\.3 s and was stopped"):
        run_query(data, slow, timeout=0.3)
    assert run_query(data, "SELECT 1").rows == [(1,)]  # the index answers on


def test_with_a_token_set_the_query_needs_it(data: DataProvider) -> None:
    with TestClient(create_app(data, token="s3cret")) as client:
        refused = client.post("/api/plugins/sql/query", json={"sql": "SELECT 1"})
        assert refused.status_code == 403
        allowed = client.post(
            "/api/plugins/sql/query",
            json={"sql": "SELECT 1"},
            headers={"Authorization": "token s3cret"},
        )
        assert allowed.status_code == 200


def test_the_query_box_locks_duckdb_external_access_as_a_second_wall(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    provider = DataProvider(Index.open(parse_logdir_spec(str(tmp_path / "logs")), ":memory:"))
    create_app(provider)  # mounting the query box's routes locks the index
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
        provider.sql(f"SELECT * FROM read_csv('{secret}')")
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    provider.update()  # reading the logdir needs no external access
    assert run_query(provider, "SELECT run, value FROM scalars").rows == [("run", 1.0)]
    provider.index.close()
