"""The plugin interface: the registry of the ``stepscope.plugins`` entry points, ``/api/plugins``,
and a plugin's failure kept to that plugin.

The built-in kinds are found through the installed package's own entry
points, exactly as a third party's; broken plugins are real entry points
to real (temporary) modules.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.plugins.base import Plugin
from stepscope.plugins.metadata import plugin_metadata
from stepscope.plugins.registry import GROUP, load_plugins
from stepscope.proto import summary_pb2
from stepscope.server.app import create_app
from stepscope.server.plugin_host import readable_title
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider
from stepscope.tensors import to_tensor_proto

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "stepscope"
BUILT_IN = [
    "scalars",
    "custom_scalars",
    "images",
    "audio",
    "graphs",
    "distributions",
    "histograms",
    "hparams",
    "pr_curves",
    "mesh",
    "text",
    "sql",
    "raw",
]


def entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=GROUP)


def built_in_points() -> list[EntryPoint]:
    from importlib.metadata import entry_points

    return [p for p in entry_points(group=GROUP) if p.value.startswith("stepscope.")]


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for the modules of test plugins."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("fake_plugin")]:
        del sys.modules[name]


def test_the_built_in_kinds_come_from_stepscopes_own_entry_points_in_tab_order() -> None:
    registry = load_plugins()
    assert registry.problems == ()
    assert [p.name for p in registry.plugins][: len(BUILT_IN)] == BUILT_IN
    assert registry.sources["images"] == "stepscope.plugins.images.plugin:PLUGIN"
    assert registry.fallback is not None
    assert registry.fallback.name == "raw"
    assert [p.name for p in registry.claimed()["histograms"]] == ["distributions", "histograms"]
    pyproject = (PACKAGE.parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    for point in built_in_points():  # installed from the pyproject, not hard-coded anywhere else
        assert f'{point.name} = "{point.value}"' in pyproject


def test_a_plugin_that_cannot_be_imported_is_one_line_and_the_others_load(
    plugin_module: Path,
) -> None:
    (plugin_module / "fake_plugin_raises.py").write_text("raise RuntimeError('no GPU here')\n")
    (plugin_module / "fake_plugin_wrong.py").write_text("PLUGIN = {'name': 'wrong'}\n")
    found = [
        *built_in_points(),
        entry("missing", "fake_plugin_missing:PLUGIN"),
        entry("raises", "fake_plugin_raises:PLUGIN"),
        entry("wrong", "fake_plugin_wrong:PLUGIN"),
    ]
    registry = load_plugins(found)
    assert [p.name for p in registry.plugins] == BUILT_IN
    assert list(registry.problems) == [
        "plugin 'missing' (fake_plugin_missing:PLUGIN) cannot be imported: "
        "ModuleNotFoundError: No module named 'fake_plugin_missing'",
        "plugin 'raises' (fake_plugin_raises:PLUGIN) cannot be imported: RuntimeError: no GPU here",
        "plugin 'wrong' (fake_plugin_wrong:PLUGIN) is not a stepscope Plugin but a dict",
    ]


def test_a_second_plugin_of_a_taken_name_is_refused(plugin_module: Path) -> None:
    (plugin_module / "fake_plugin_images.py").write_text(
        "from stepscope.plugins.base import Plugin\n"
        "PLUGIN = Plugin(name='images', title='My images')\n"
    )
    registry = load_plugins([*built_in_points(), entry("zzz_images", "fake_plugin_images:PLUGIN")])
    assert registry.get("images") is not None
    assert registry.get("images").title == "Images"  # the first keeps its name
    assert registry.problems == (
        "plugin 'zzz_images' (fake_plugin_images:PLUGIN) refused: the name 'images' is taken "
        "by stepscope.plugins.images.plugin:PLUGIN; rename one of the two plugins or uninstall one",
    )


@pytest.mark.parametrize(
    ("plugin", "problem"),
    [
        (Plugin(name="Bad-Name", title="x"), "its name 'Bad-Name' is not a plugin name"),
        (Plugin(name="notitle", title=" "), "it has no title"),
        (Plugin(name="nopage", title="x", page="x.js"), "needs a static folder"),
        (
            Plugin(name="escape", title="x", page="../../etc/passwd", static=Path("/tmp")),
            "lies outside its static folder",
        ),
        (Plugin(name="gone", title="x", page="gone.js", static=Path("/tmp")), "is not in /tmp"),
    ],
)
def test_a_plugin_declared_wrong_is_refused_with_the_reason(plugin: Plugin, problem: str) -> None:
    assert problem in (plugin.problem() or "")


def test_no_plugin_at_all_says_to_reinstall() -> None:
    registry = load_plugins([])
    assert registry.plugins == ()
    assert "install stepscope again" in registry.problems[0]


# -- /api/plugins -------------------------------------------------------------------


def write_kinds(root: Path) -> None:
    with SummaryWriter(str(root / "run")) as writer:
        writer.add_scalar("loss", 0.5, 0)
        writer.add_histogram("weights", np.arange(10.0), 0)
        writer.add_image("sample", np.zeros((3, 4, 4), np.float32), 0)
        # A kind stepscope has no plugin for: the raw-tensor view shows it.
        value = summary_pb2.Summary.Value(
            tag="odd", metadata=plugin_metadata("someones_plugin"), tensor=to_tensor_proto(3.0)
        )
        writer._get_file_writer().add_summary(summary_pb2.Summary(value=[value]), 0)


@pytest.fixture
def data(tmp_path: Path) -> Iterator[DataProvider]:
    write_kinds(tmp_path / "logs")
    provider = DataProvider(Index.open(parse_logdir_spec(str(tmp_path / "logs")), ":memory:"))
    provider.update()
    yield provider
    provider.index.close()


def test_api_plugins_lists_the_kinds_with_data_and_how_to_load_their_pages(
    data: DataProvider,
) -> None:
    with TestClient(create_app(data)) as client:
        body = client.get("/api/plugins").json()
    assert body["problems"] == []
    names = [p["name"] for p in body["plugins"]]
    assert names == ["scalars", "images", "distributions", "histograms", "sql", "someones_plugin"]
    by_name = {p["name"]: p for p in body["plugins"]}
    assert by_name["images"] == {
        "name": "images",
        "title": "Images",
        "order": 30,
        "claims": ["images"],
        "page": {"builtin": "images"},
        "fallback": False,
        "problem": None,
    }
    assert by_name["distributions"]["claims"] == ["histograms"]
    odd = by_name["someones_plugin"]
    assert (odd["title"], odd["page"], odd["fallback"]) == (
        "Someones plugin",
        {"builtin": "raw"},
        True,
    )


def test_scalars_and_the_query_box_are_listed_even_for_an_empty_logdir(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    provider = DataProvider(Index.open(parse_logdir_spec(str(tmp_path / "empty")), ":memory:"))
    provider.update()
    with TestClient(create_app(provider)) as client:
        listed = [p["name"] for p in client.get("/api/plugins").json()["plugins"]]
    assert listed == ["scalars", "sql"]  # the query box too: it reads the index, not a kind
    provider.index.close()


def failing_routes(data: DataProvider) -> APIRouter:
    router = APIRouter()

    @router.get("/boom")
    def boom() -> dict[str, str]:
        raise ValueError("the plugin's own bug")

    @router.get("/fine")
    def fine() -> dict[str, str]:
        return {"ok": "yes"}

    return router


def routes_that_fail_to_start(data: DataProvider) -> APIRouter:
    raise OSError("its model file is missing")


def test_a_plugin_whose_route_raises_answers_one_error_and_the_rest_keeps_working(
    data: DataProvider,
) -> None:
    base = load_plugins()
    extra = (
        Plugin(name="flaky", title="Flaky", claims=("images",), routes=failing_routes),
        Plugin(name="dead", title="Dead", claims=("scalars",), routes=routes_that_fail_to_start),
    )
    registry = type(base)(base.plugins + extra, base.problems, base.sources)
    told: list[str] = []
    with TestClient(create_app(data, plugins=registry, echo=told.append)) as client:
        for _ in range(2):
            answer = client.get("/api/plugins/flaky/boom")
            assert answer.status_code == 500
            assert answer.json() == {
                "error": {
                    "status": 500,
                    "message": "plugin 'flaky' failed: ValueError: the plugin's own bug",
                }
            }
        assert client.get("/api/plugins/flaky/fine").json() == {"ok": "yes"}
        assert client.get("/api/runs").status_code == 200
        listed = {p["name"]: p for p in client.get("/api/plugins").json()["plugins"]}
        assert client.get("/api/plugins/dead/anything").status_code == 404
    assert listed["dead"]["problem"] == (
        "could not start its routes: OSError: its model file is missing"
    )
    assert listed["images"]["problem"] is None
    # The terminal hears of each failure once.
    assert told == [
        "warning: plugin 'dead' could not start its routes: OSError: its model file is missing",
        "error: plugin 'flaky' failed: ValueError: the plugin's own bug "
        "(at /api/plugins/flaky/boom)",
    ]


def test_a_plugin_that_failed_to_import_is_reported_by_the_api(
    data: DataProvider, plugin_module: Path
) -> None:
    registry = load_plugins([*built_in_points(), entry("gone", "fake_plugin_gone:PLUGIN")])
    told: list[str] = []
    with TestClient(create_app(data, plugins=registry, echo=told.append)) as client:
        body = client.get("/api/plugins").json()
    line = (
        "plugin 'gone' (fake_plugin_gone:PLUGIN) cannot be imported: "
        "ModuleNotFoundError: No module named 'fake_plugin_gone'"
    )
    assert body["problems"] == [line]
    assert told == [f"warning: {line}"]
    assert "images" in [p["name"] for p in body["plugins"]]


# -- the shape of the house ---------------------------------------------------------


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_plugin_imports_another_kind_and_writer_and_loader_never_import_the_server() -> None:
    kinds = sorted(p.name for p in (PACKAGE / "plugins").iterdir() if (p / "__init__.py").is_file())
    assert set(BUILT_IN) - {"distributions"} <= set(kinds)
    wrong = []
    for kind in kinds:
        for module in (PACKAGE / "plugins" / kind).rglob("*.py"):
            for name in imports_of(module):
                other = name.split(".")[2] if name.startswith("stepscope.plugins.") else None
                if other in kinds and other != kind:
                    wrong.append(f"{module.relative_to(PACKAGE)} imports {name}")
    for layer in ("writer", "loader", "store"):
        for module in (PACKAGE / layer).rglob("*.py"):
            for name in imports_of(module):
                if name.startswith(("stepscope.server", "fastapi", "starlette")):
                    wrong.append(f"{module.relative_to(PACKAGE)} imports {name}")
    assert wrong == []


def test_the_kinds_have_no_routes_left_in_the_core_server() -> None:
    server = {p.name for p in (PACKAGE / "server").glob("*.py")}
    assert "views.py" not in server
    assert "views_mesh.py" not in server
    for kind in ("images", "hparams", "custom_scalars", "mesh"):
        assert (PACKAGE / "plugins" / kind / "routes.py").is_file()
        assert (PACKAGE / "plugins" / kind / "read.py").is_file()


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("graph_keras_model", "Keras model"),
        ("tensor", "Tensors"),
        ("custom_plugin", "Custom plugin"),
        ("my-plugin", "My plugin"),
        ("x", "X"),
    ],
)
def test_a_plugin_without_a_view_gets_a_readable_tab_title(name: str, title: str) -> None:
    assert readable_title(name) == title
