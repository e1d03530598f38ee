"""The example plugin, ``examples/plugins/stepscope-hello``, installed with pip as a user would (issue 13).

pip installs it once into a folder of this module's own, put on ``sys.path``
(and ``PYTHONPATH``, for the servers the browser tests start), so stepscope
finds it through its dist-info's entry point like any installed plugin. The
checks: the registry finds it beside the built-ins; its writer helper's
greetings come back through the DataProvider, its route and ``/api/plugins``;
its page module is served and, in a real browser, draws the greetings in a
Hello tab of its own. Broken plugins (one that cannot be imported, one whose
routes cannot start, one whose route raises) are reported naming themselves
while the rest keeps working.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from browser_support import REPO, Server, Tab, rgb_of, run_row, snapshot
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Locator, expect

from stepscope import SummaryWriter
from stepscope.errors import NotFoundError
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.plugins.registry import GROUP, load_plugins
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

StartServer = Callable[[Path], Server]
OpenPage = Callable[[str], Tab]

EXAMPLE = REPO / "examples" / "plugins" / "stepscope-hello"
BUILTINS = {"scalars", "images", "audio", "histograms", "hparams", "pr_curves", "text", "raw"}
# Logged text is text: markup in a greeting must be shown, not obeyed.
GREETINGS = {
    "alpha": [(0, "Hello, world"), (10, "Hello <b>again</b>")],
    "beta": [(5, "Bonjour, le monde")],
}


def expected_greetings(runs: list[str]) -> list[dict[str, Any]]:
    return [
        {"run": run, "tag": "greetings", "step": step, "text": text}
        for run in runs
        for step, text in GREETINGS[run]
    ]


def write_greetings(logdir: Path, greetings: dict[str, list[tuple[int, str]]]) -> None:
    """Greetings through the example's own helper, with a scalar beside them."""
    from stepscope_hello.summary import add_greeting

    for run, found in greetings.items():
        with SummaryWriter(str(logdir / run)) as writer:
            for step, text in found:
                add_greeting(writer, "greetings", text, step)
            writer.add_scalar("loss", 0.5, 0)


@pytest.fixture(scope="module")
def hello_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example installed by pip into a folder of its own, importable while this module runs."""
    root = tmp_path_factory.mktemp("hello_plugin")
    # pip builds in the tree it is given (build/, *.egg-info): give it a copy.
    source = root / "stepscope-hello"
    shutil.copytree(
        EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    site = root / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--no-build-isolation", "--no-index", "--target", str(site)]
    result = subprocess.run([*command, str(source)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"pip could not install the example:\n{result.stderr}"
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        path = os.environ.get("PYTHONPATH")
        patch.setenv("PYTHONPATH", os.pathsep.join([str(site), *([path] if path else [])]))
        yield site
    for name in [n for n in sys.modules if n.split(".")[0] == "stepscope_hello"]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def logdir(hello_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hello_logs") / "logs"
    write_greetings(root, GREETINGS)
    return root


@pytest.fixture(scope="module")
def data(logdir: Path) -> Iterator[DataProvider]:
    provider = DataProvider(Index.open(parse_logdir_spec(str(logdir)), ":memory:"))
    provider.update()
    yield provider
    provider.index.close()


@pytest.fixture(scope="module")
def client(data: DataProvider) -> Iterator[TestClient]:
    with TestClient(create_app(data)) as found:
        yield found


# -- installed, found, read ------------------------------------------------------


def test_the_registry_finds_hello_beside_the_builtins(hello_site: Path) -> None:
    registry = load_plugins()
    assert registry.problems == ()
    assert {plugin.name for plugin in registry.plugins} >= BUILTINS
    hello = registry.get("hello")
    assert hello is not None
    assert (hello.title, hello.page, hello.claimed) == ("Hello", "hello.js", ("hello",))
    assert registry.sources["hello"] == "stepscope_hello.plugin:PLUGIN"
    # The installed copy, with its page module as package data.
    assert hello.static is not None
    assert hello.static.is_relative_to(hello_site)
    assert (hello.static / "hello.js").is_file()
    assert hello.problem() is None


def test_the_greetings_written_come_back_through_the_data_provider(data: DataProvider) -> None:
    from stepscope_hello.greetings import read_greetings

    found = [vars(greeting) for greeting in read_greetings(data)]
    assert found == expected_greetings(["alpha", "beta"])
    assert [vars(g) for g in read_greetings(data, ["beta"])] == expected_greetings(["beta"])
    assert read_greetings(data, []) == []
    with pytest.raises(NotFoundError, match="gamma"):
        read_greetings(data, ["gamma"])
    assert {tag.plugin for tag in data.tags(run="alpha")} == {"hello", "scalars"}


def test_the_demo_writes_two_runs_of_greetings(
    hello_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stepscope_hello.demo import GREETINGS as DEMO
    from stepscope_hello.demo import main
    from stepscope_hello.greetings import read_greetings

    assert main([str(tmp_path / "demo")]) == 0
    assert "stepscope --logdir" in capsys.readouterr().out
    provider = DataProvider(Index.open(parse_logdir_spec(str(tmp_path / "demo")), ":memory:"))
    try:
        provider.update()
        found = read_greetings(provider)
    finally:
        provider.index.close()
    assert [(g.run, g.text) for g in found] == [(run, t) for run, ts in DEMO.items() for t in ts]
    assert main([]) == 2


# -- the API ---------------------------------------------------------------------


def test_api_plugins_lists_hello_with_its_page_module(client: TestClient) -> None:
    body = client.get("/api/plugins").json()
    assert body["problems"] == []
    [hello] = [entry for entry in body["plugins"] if entry["name"] == "hello"]
    assert hello == {
        "name": "hello",
        "title": "Hello",
        "order": 1000,
        "claims": ["hello"],
        "page": {"url": "api/plugins/hello/static/hello.js"},
        "fallback": False,
        "problem": None,
    }
    # The plugins with data, in tab order (scalars always comes).
    assert [entry["name"] for entry in body["plugins"]] == ["scalars", "hello", "sql"]


def test_the_greetings_route_answers_what_was_written(client: TestClient) -> None:
    answer = client.get("/api/plugins/hello/greetings")
    assert answer.status_code == 200
    assert answer.json() == {"greetings": expected_greetings(["alpha", "beta"])}
    some = client.get("/api/plugins/hello/greetings", params={"run": ["beta"]}).json()
    assert some == {"greetings": expected_greetings(["beta"])}
    unknown = client.get("/api/plugins/hello/greetings", params={"run": "gamma"})
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": {"status": 404, "message": "no run named 'gamma' in this logdir"}
    }


def test_the_page_module_is_served_as_javascript(client: TestClient, hello_site: Path) -> None:
    answer = client.get("/api/plugins/hello/static/hello.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] in {
        "text/javascript",
        "application/javascript",
    }
    installed = hello_site / "stepscope_hello" / "static" / "hello.js"
    assert answer.text == installed.read_text(encoding="utf-8")
    assert "export default function createView" in answer.text
    assert client.get("/api/plugins/hello/static/missing.js").status_code == 404
    escape = client.get("/api/plugins/hello/static/..%2F..%2Fplugin.py")
    assert escape.status_code == 404


# -- what goes wrong stays with its plugin ---------------------------------------------


# -- the page, in a real browser -------------------------------------------------


def hello_section(root: Locator, run: str) -> Locator:
    return root.locator(f'section.hello-run[data-run="{run}"]')


def cells(section: Locator) -> Locator:
    return section.locator("td")


def test_the_hello_tab_draws_each_runs_greetings(
    hello_site: Path, start_server: StartServer, open_page: OpenPage, tmp_path: Path
) -> None:
    """The Hello tab: a table per checked run under its colour, live, logged markup kept as text."""
    root = tmp_path / "logs"
    write_greetings(root, GREETINGS)
    server = start_server(root)
    tab = open_page(server.url)
    page = tab.page
    hello_tab = page.locator('a.tab[data-plugin="hello"]')
    expect(hello_tab).to_have_text("Hello", timeout=15_000)
    hello_tab.click()
    view = page.locator(".hello-view[data-hello-drawn]")
    expect(view).to_be_visible(timeout=15_000)
    alpha, beta = hello_section(view, "alpha"), hello_section(view, "beta")
    expect(alpha.locator("h3")).to_have_text("alpha")
    expect(alpha.locator("th")).to_have_text(["Step", "Tag", "Greeting"])
    expect(cells(alpha)).to_have_text(
        ["0", "greetings", "Hello, world", "10", "greetings", "Hello <b>again</b>"]
    )
    expect(cells(beta)).to_have_text(["5", "greetings", "Bonjour, le monde"])
    expect(view.locator("b")).to_have_count(0)
    for run in ("alpha", "beta"):
        swatch = hello_section(view, run).locator(".hello-swatch")
        shown = swatch.evaluate("e => getComputedStyle(e).backgroundColor")
        selector = run_row(page, run).locator(".swatch")
        assert rgb_of(shown) == rgb_of(
            selector.evaluate("e => getComputedStyle(e).backgroundColor")
        )
    snapshot(page, "hello_tab")
    module = [r.url for r in tab.requests if r.url.endswith("/hello.js")]
    assert module == [server.url + "api/plugins/hello/static/hello.js"]

    run_row(page, "beta").locator("input").uncheck()  # its table goes
    expect(beta).to_have_count(0)
    expect(alpha).to_have_count(1)
    run_row(page, "beta").locator("input").check()
    expect(beta).to_have_count(1)

    write_greetings(root, {"beta": [(7, "Live hello")]})  # a new file of the same run
    expect(cells(beta)).to_have_text(
        ["5", "greetings", "Bonjour, le monde", "7", "greetings", "Live hello"], timeout=15_000
    )
    assert tab.errors == []


def test_the_hello_page_module_runs_under_the_pages_csp(
    hello_site: Path, start_server: StartServer, chromium: Browser, tmp_path: Path
) -> None:
    """Without Playwright's CSP bypass: the module loads and draws, and nothing is refused."""
    root = tmp_path / "logs"
    write_greetings(root, GREETINGS)
    server = start_server(root)
    context = chromium.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        refused: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                refused.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        page.goto(server.url + "#tab=hello")
        view = page.locator(".hello-view[data-hello-drawn]")
        expect(cells(hello_section(view, "beta"))).to_have_text(
            ["5", "greetings", "Bonjour, le monde"], timeout=15_000
        )
    finally:
        context.close()
    assert errors == []
    assert refused == []


def test_the_example_module_is_what_the_plugin_names(hello_site: Path) -> None:
    """What the entry point loads is the installed package's PLUGIN, not a copy from the tree."""
    module = importlib.import_module("stepscope_hello.plugin")
    assert module.__file__ is not None
    assert Path(module.__file__).is_relative_to(hello_site)
    [point] = [p for p in entry_points(group=GROUP) if p.name == "hello"]
    assert point.load() is module.PLUGIN
