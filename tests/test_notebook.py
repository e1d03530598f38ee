"""``%load_ext stepscope`` and ``%stepscope`` in a real IPython kernel (jupyter_client), with real servers.

Each kernel runs this venv's Python with its own ``TMPDIR``, so its info
directory is the test's own; every server is stopped at the end, and no
process that names the test's directory may outlive it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from stepscope import SummaryWriter
from stepscope.errors import UsageError
from stepscope.server.serve import info_dir

pytestmark = pytest.mark.slow

STOP_ALL = """
import stepscope.notebook as _nb
for _server in _nb.list():
    _nb.stop(_server.port)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_run(logdir: Path, run: str) -> None:
    with SummaryWriter(str(logdir / run)) as writer:
        for step in range(3):
            writer.add_scalar("loss", 1.0 / (step + 1), step)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@dataclass
class Output:
    """What one cell sent back: its streams, displays, result and errors."""

    stdout: str = ""
    stderr: str = ""
    html: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, message: dict[str, Any]) -> None:
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            name = content["name"]
            setattr(self, name, getattr(self, name) + content["text"])
        elif kind in ("display_data", "execute_result"):
            self.html += [content["data"]["text/html"]] if "text/html" in content["data"] else []
            self.plain += [content["data"].get("text/plain", "")]
        elif kind == "error":
            self.errors.append(content)


class Kernel:
    """An IPython kernel of this venv's Python, started in ``cwd`` with ``TMPDIR`` set."""

    def __init__(self, specs: Path, cwd: Path, tmpdir: Path) -> None:
        self.manager = KernelManager(
            kernel_name="stepscope-test",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]),
        )
        self.manager.start_kernel(cwd=str(cwd), env={**os.environ, "TMPDIR": str(tmpdir)})
        self.client: BlockingKernelClient = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, code: str) -> Output:
        output = Output()
        reply = self.client.execute_interactive(code, output_hook=output.add, timeout=300)
        if reply["content"]["status"] == "error" and not output.errors:
            output.errors.append(reply["content"])
        return output

    def restart(self) -> None:
        self.manager.restart_kernel(now=True)
        self.client.wait_for_ready(timeout=120)

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@dataclass
class Setup:
    root: Path
    info: Path  # the kernels' info directory
    new_kernel: Callable[[], Kernel]

    def index(self, name: str) -> Path:
        return self.root / f"{name}.duckdb"


def spec_dir(root: Path) -> Path:
    """A kernelspec of this very interpreter: CI's fresh venv has none installed."""
    kernel = root / "kernels" / "stepscope-test"
    kernel.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "stepscope test", "language": "python"}
    (kernel / "kernel.json").write_text(json.dumps(spec))
    return root / "kernels"


def leftover_processes(root: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        ours = str(root) in cmdline and "stepscope" in cmdline and process.pid != os.getpid()
        if ours and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    specs = spec_dir(tmp_path)
    kernels: list[Kernel] = []

    def new_kernel() -> Kernel:
        kernel = Kernel(specs, tmp_path, tmpdir)
        kernels.append(kernel)
        return kernel

    info = tmpdir / f".stepscope-info-{os.getuid()}"
    yield Setup(tmp_path, info, new_kernel)
    for kernel in kernels:
        if kernel.manager.is_alive():
            stopped = kernel.run(STOP_ALL)
            assert stopped.errors == [], stopped.errors
        kernel.shutdown()
    left = leftover_processes(tmp_path)
    for process in left:
        process.kill()
    assert left == [], "servers outlived the test"
    assert not info.exists() or sorted(info.glob("*.json")) == []


def wait_until_reapable(pid: int) -> None:
    """Until a killed child can be reaped by its parent (the kernel), which is then up to the test."""
    # The leader of a killed multi-threaded process is a zombie before its other threads are
    # gone, and its parent can reap it only then: wait for its last thread.
    while True:
        try:
            threads = os.listdir(f"/proc/{pid}/task")
            status = psutil.Process(pid).status()
        except (FileNotFoundError, psutil.NoSuchProcess):
            return
        if status == psutil.STATUS_ZOMBIE and threads == [str(pid)]:
            return
        time.sleep(0.05)


def magic_pid(text: str, verb: str, port: int) -> int:
    match = re.search(rf"{verb} stepscope on port {port} \(pid (\d+)", text)
    assert match, text
    return int(match.group(1))


def iframe_src(html: str) -> str:
    match = re.fullmatch(r'<iframe src="([^"]+)" width="100%" height="(\d+)".*</iframe>', html)
    assert match, html
    return match.group(1)


def test_stepscope_magic_starts_shows_and_reuses_a_server(setup: Setup) -> None:
    write_run(setup.root / "logs" / "a", "run1")
    port = free_port()
    kernel = setup.new_kernel()
    assert kernel.run("%load_ext stepscope").errors == []
    flags = f"--port {port} --index {setup.index('a')}"

    started = kernel.run(f"%stepscope --logdir {setup.root / 'logs' / 'a'} {flags}")
    assert started.errors == [], started
    assert started.stderr == "", started
    pid = magic_pid(started.stdout, "Started", port)
    assert [iframe_src(html) for html in started.html] == [f"http://localhost:{port}/"]
    runs = get_json(f"http://127.0.0.1:{port}/api/runs")
    assert [run["name"] for run in runs] == ["run1"]
    assert runs[0]["events"] > 0
    described = json.loads((setup.info / f"{pid}.json").read_text())
    assert described["port"] == port

    # The same logdir, written relative to the kernel's directory and with '=': the same server.
    again = kernel.run(f"%stepscope --logdir=logs/a {flags}")
    assert again.errors == [], again
    assert again.stderr == "", again
    assert magic_pid(again.stdout, "Reusing", port) == pid
    assert [iframe_src(html) for html in again.html] == [f"http://localhost:{port}/"]
    assert len(leftover_processes(setup.root)) == 1


def test_other_logdir_starts_another_and_list_display_stop_see_both(setup: Setup) -> None:
    for name in ("a", "b"):
        write_run(setup.root / "logs" / name, f"run_{name}")
    port_a, port_b = free_port(), free_port()
    kernel = setup.new_kernel()
    kernel.run("%load_ext stepscope")
    first = kernel.run(f"%stepscope --logdir logs/a --port {port_a} --index {setup.index('a')}")
    second = kernel.run(
        f"%stepscope --logdir logs/b --port {port_b} --index {setup.index('b')} --path_prefix /scope"
    )
    pid_a = magic_pid(first.stdout, "Started", port_a)
    pid_b = magic_pid(second.stdout, "Started", port_b)
    assert pid_a != pid_b
    assert [iframe_src(html) for html in second.html] == [f"http://localhost:{port_b}/scope/"]
    runs = get_json(f"http://127.0.0.1:{port_b}/scope/api/runs")
    assert [run["name"] for run in runs] == ["run_b"]

    listed = kernel.run("import stepscope.notebook as nb\nservers = nb.list()\nservers")
    assert listed.errors == []
    lines = listed.plain[0].splitlines()
    assert lines[1].startswith(f"  port {port_a}: logs/a (pid {pid_a}, started ")
    assert lines[2].startswith(f"  port {port_b}: logs/b (pid {pid_b}, started ")
    assert kernel.run("print([s.pid for s in servers])").stdout == f"[{pid_a}, {pid_b}]\n"

    shown = kernel.run(f"nb.display(port={port_a}, height=500)")
    assert [iframe_src(html) for html in shown.html] == [f"http://localhost:{port_a}/"]
    assert 'height="500"' in shown.html[0]
    latest = kernel.run("nb.display()")
    assert [iframe_src(html) for html in latest.html] == [f"http://localhost:{port_b}/scope/"]

    stopped = kernel.run(f"nb.stop({port_a})")
    assert stopped.stdout == f"Stopped stepscope on port {port_a} (pid {pid_a}).\n"
    assert not psutil.pid_exists(pid_a)
    assert not (setup.info / f"{pid_a}.json").exists()
    assert kernel.run("print([s.port for s in nb.list()])").stdout == f"[{port_b}]\n"


def one_line_error(output: Output) -> str:
    """The magic's error: a single ``UsageError: ...`` line, no traceback."""
    assert output.stdout == "", output
    assert output.html == [], output
    assert output.errors == [] or all(e.get("ename") == "UsageError" for e in output.errors)
    lines = output.stderr.splitlines()
    assert len(lines) == 1, output.stderr
    assert lines[0].startswith("UsageError: "), output.stderr
    return lines[0]


def test_bad_input_is_one_line_and_leaves_no_server(setup: Setup) -> None:
    write_run(setup.root / "logs" / "a", "run1")
    kernel = setup.new_kernel()
    kernel.run("%load_ext stepscope")
    index = setup.index("a")

    missing = one_line_error(kernel.run(f"%stepscope --logdir nowhere --index {index}"))
    assert "nowhere does not exist" in missing
    unknown = one_line_error(kernel.run("%stepscope --logdir logs/a --bogus"))
    assert "No such option '--bogus'" in unknown
    assert unknown.endswith("(%stepscope --help lists the flags)")
    assert "no logdir given" in one_line_error(kernel.run("%stepscope --port 6010"))
    assert "'abc' is not a valid integer" in one_line_error(
        kernel.run("%stepscope --logdir logs/a --port abc")
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        taken = one_line_error(
            kernel.run(f"%stepscope --logdir logs/a --port {port} --index {index}")
        )
    assert f"cannot listen on 127.0.0.1:{port}" in taken

    assert leftover_processes(setup.root) == []
    assert sorted(setup.info.iterdir()) == []  # no entry, no log
    none = kernel.run("import stepscope.notebook as nb\nnb.display()")
    assert [e["ename"] for e in none.errors] == ["NotFoundError"]
    assert "no stepscope server is running" in none.errors[0]["evalue"]
    assert "--logdir" in kernel.run("%stepscope --help").stdout


def test_a_restarted_kernel_finds_reuses_and_stops_its_server(setup: Setup) -> None:
    write_run(setup.root / "logs" / "a", "run1")
    port = free_port()
    magic = f"%stepscope --logdir logs/a --port {port} --index {setup.index('a')}"
    kernel = setup.new_kernel()
    kernel.run("%load_ext stepscope")
    pid = magic_pid(kernel.run(magic).stdout, "Started", port)

    kernel.restart()  # kills the kernel's process group: the server is not in it
    assert psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    kernel.run("%load_ext stepscope")
    assert magic_pid(kernel.run(magic).stdout, "Reusing", port) == pid
    assert get_json(f"http://127.0.0.1:{port}/api/runs")[0]["name"] == "run1"
    kernel.run(f"import stepscope.notebook as nb\nnb.stop({port})")
    assert not (setup.info / f"{pid}.json").exists()
    assert leftover_processes(setup.root) == []


def test_an_entry_of_a_dead_server_is_pruned(setup: Setup) -> None:
    write_run(setup.root / "logs" / "a", "run1")
    port = free_port()
    kernel = setup.new_kernel()
    kernel.run("%load_ext stepscope")
    pid = magic_pid(
        kernel.run(f"%stepscope --logdir logs/a --port {port} --index {setup.index('a')}").stdout,
        "Started",
        port,
    )
    psutil.Process(pid).kill()  # no chance to remove its entry
    wait_until_reapable(pid)
    assert (setup.info / f"{pid}.json").exists()
    listed = kernel.run("import stepscope.notebook as nb\nnb.list()")
    assert listed.plain == [
        "No stepscope server is running; start one with %stepscope --logdir DIR"
    ]
    assert sorted(setup.info.iterdir()) == []
    # The next start does not take the dead one for a running one.
    port = free_port()
    again = kernel.run(f"%stepscope --logdir logs/a --port {port} --index {setup.index('a')}")
    assert magic_pid(again.stdout, "Started", port) != pid


def test_tensorboard_magic_is_an_alias_unless_one_exists(setup: Setup) -> None:
    write_run(setup.root / "logs" / "a", "run1")
    seed = setup.new_kernel()
    seed.run("%load_ext stepscope")
    # --port 0: the server takes a free port, and says which in its info file.
    started = seed.run(f"%tensorboard --logdir logs/a --port 0 --index {setup.index('a')}")
    found = re.match(r"Started stepscope on port (\d+) ", started.stdout)
    assert found, started
    port = int(found.group(1))
    assert [iframe_src(html) for html in started.html] == [f"http://localhost:{port}/"]
    assert get_json(f"http://127.0.0.1:{port}/api/runs")[0]["name"] == "run1"

    theirs = setup.new_kernel()
    theirs.run(
        "get_ipython().register_magic_function("
        "lambda line: print('theirs', line), magic_name='tensorboard')"
    )
    theirs.run("%load_ext stepscope")
    assert theirs.run("%tensorboard --logdir logs/a").stdout == "theirs --logdir logs/a\n"


def test_an_info_directory_that_is_not_the_users_own_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert info_dir() == tmp_path / f".stepscope-info-{os.getuid()}"
    assert info_dir().stat().st_mode & 0o077 == 0  # private: entries may hold a token
    info_dir().rmdir()
    planted = tmp_path / "planted"
    planted.mkdir()
    (tmp_path / f".stepscope-info-{os.getuid()}").symlink_to(planted)
    with pytest.raises(UsageError, match="is not a directory of yours"):
        info_dir()
