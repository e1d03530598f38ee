"""The dashboard in Jupyter: ``%load_ext stepscope``, then ``%stepscope --logdir runs``.

The magic takes the flags of the ``stepscope`` command (parsed by the same
Click options) and starts ``python -m stepscope serve ...`` in a process of
its own, so a crash or a long first read never blocks the kernel. A server
that is still running with the same arguments is reused instead of started
twice. Either way the page is shown in an iframe.

Running servers describe themselves in the user's info directory (see
:func:`stepscope.server.serve.info_dir`), so a restarted kernel still finds
the servers it started; entries of servers that died are pruned when read::

    import stepscope.notebook

    stepscope.notebook.list()              # the running servers
    stepscope.notebook.display(port=6006)  # show one again
    stepscope.notebook.stop(6006)          # and stop it

``%load_ext stepscope`` also registers ``%tensorboard`` as the same magic
when no ``%tensorboard`` magic exists yet, so TensorBoard's notebooks work.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime
import html
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click

from stepscope.errors import NotFoundError, StepscopeError, UsageError
from stepscope.server.serve import ServeOptions, info_dir, is_loopback

#: Seconds to wait for a started server to announce itself (Python, imports, checks).
ANNOUNCE_TIMEOUT = 60.0
#: Seconds to wait for a server to answer once it has announced itself (its first read).
READY_TIMEOUT = 120.0
_POLL = 0.1

# Servers this kernel started, so they are reaped (not left as zombies that look alive).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ServerInfo:
    """A running server, as it described itself in the info directory."""

    pid: int
    port: int
    host: str
    path_prefix: str
    token: str | None
    cwd: str
    started: float
    version: str
    options: dict[str, Any]

    @property
    def logdir(self) -> str:
        """What it serves: the ``--logdir`` or ``--logdir_spec`` it was given."""
        return str(self.options.get("logdir_spec") or self.options.get("logdir"))

    @property
    def url(self) -> str:
        """The page's address for a browser on this machine (with the token, if one is needed)."""
        host = self.host
        if is_loopback(host) or host in ("", "0.0.0.0", "::"):
            host = "localhost"
        elif ":" in host:
            host = f"[{host}]"
        token = f"?token={self.token}" if self.token else ""
        return f"http://{host}:{self.port}{self.path_prefix}/{token}"

    def describe(self) -> str:
        started = datetime.datetime.fromtimestamp(self.started).strftime("%Y-%m-%d %H:%M:%S")
        return f"port {self.port}: {self.logdir} (pid {self.pid}, started {started})"


class Servers(builtins.list[ServerInfo]):
    """The running servers; shown as one line each."""

    def __repr__(self) -> str:
        if not self:
            return "No stepscope server is running; start one with %stepscope --logdir DIR"
        lines = ["Running stepscope servers (stepscope.notebook.display(port=...) shows one):"]
        return "\n".join([*lines, *(f"  {server.describe()}" for server in self)])

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


# -- the public functions -------------------------------------------------------------


def start(args: str, *, height: int = 800) -> ServerInfo:
    """Start (or reuse) a server for these ``stepscope`` flags and show its page.

    Example::

        stepscope.notebook.start("--logdir runs --port 6010")
    """
    server, reused = _launch(args)
    if reused:
        print(
            f"Reusing stepscope on port {server.port} (pid {server.pid}), "
            "already running with the same arguments."
        )
    else:
        print(f"Started stepscope on port {server.port} (pid {server.pid}).")
    _show(server, height)
    return server


def list() -> Servers:
    """The running servers, most recent last (stale entries are removed).

    Example::

        for server in stepscope.notebook.list():
            print(server.port, server.logdir)
    """
    found = Servers()
    directory = info_dir()
    for path in directory.glob("*.json"):
        server = _read_info(path)
        if server is not None and _alive(server):
            found.append(server)
        else:
            _forget(directory, path)
    for log in directory.glob("*.log"):
        # Logs of servers that never announced themselves and are gone.
        if log.stem.isdigit() and not _pid_alive(int(log.stem)):
            log.unlink(missing_ok=True)
    found.sort(key=lambda server: server.started)
    return found


def display(port: int | None = None, height: int = 800) -> None:
    """Show the page of a running server (the most recent one if ``port`` is None).

    Example::

        stepscope.notebook.display(port=6006, height=1000)
    """
    _show(_find(port), height)


def stop(port: int, timeout: float = 10.0) -> None:
    """Stop the server on ``port`` (as Ctrl-C would), killing it if it does not stop in time.

    Example::

        stepscope.notebook.stop(6006)
    """
    server = _find(port)
    _terminate(server.pid, timeout)
    for leftover in (f"{server.pid}.json", f"{server.pid}.log"):
        (info_dir() / leftover).unlink(missing_ok=True)
    print(f"Stopped stepscope on port {server.port} (pid {server.pid}).")


def load_ipython_extension(ipython: Any) -> None:
    """Registers ``%stepscope`` (and ``%tensorboard``, unless IPython already has one)."""
    ipython.register_magic_function(_magic, magic_kind="line", magic_name="stepscope")
    if ipython.find_line_magic("tensorboard") is None:
        ipython.register_magic_function(_magic, magic_kind="line", magic_name="tensorboard")


# -- starting ------------------------------------------------------------------------


def _launch(args: str) -> tuple[ServerInfo, bool]:
    """A serving server for these flags, and whether it was already running (not started)."""
    tokens = shlex.split(args)
    options = _parse_flags(tokens)
    cwd = os.getcwd()
    wanted = _reuse_key(dataclasses.asdict(options), cwd)
    for server in reversed(list()):
        port_fits = options.port in (None, 0, server.port)
        if port_fits and _reuse_key(server.options, server.cwd) == wanted:
            _wait_ready(server)
            return server, True
    process, log = _spawn(tokens, cwd)
    try:
        server = _wait_announced(process, log)
        _wait_ready(server, process, log)
    except _StillReadingError:
        raise  # it goes on in the background, listed and reusable
    except BaseException:
        # A failed start or an interrupt: leave no server behind.
        _terminate(process.pid, 10.0)
        (info_dir() / f"{process.pid}.json").unlink(missing_ok=True)
        log.unlink(missing_ok=True)
        raise
    return server, False


class _StillReadingError(UsageError):
    """A server is up but still reading the logdir when the wait ends."""


def _parse_flags(tokens: builtins.list[str]) -> ServeOptions:
    """The command's flags as the command parses them; ``UsageError`` for a bad or missing one."""
    from stepscope.cli import serve as serve_command

    try:
        # A copy: Click consumes the list it parses.
        with serve_command.make_context("%stepscope", [*tokens]) as context:
            flags = dict(context.params)
    except click.exceptions.Exit as done:  # --help, which %stepscope answers itself
        raise UsageError("--help takes no other flags") from done
    except click.ClickException as error:
        raise UsageError(f"{error.format_message()} (%stepscope --help lists the flags)") from None
    for ignored in ("samples_per_plugin", "load_fast"):
        flags.pop(ignored, None)
    options = ServeOptions(index=flags.pop("index_path"), **flags)
    if not (options.logdir or options.logdir_spec):
        raise UsageError("no logdir given: pass --logdir DIR (or --logdir_spec name:DIR,...)")
    return options


def _reuse_key(options: dict[str, Any], cwd: str) -> dict[str, Any]:
    """What must be equal for a running server to be reused: its flags, paths made absolute."""
    key = {name: value for name, value in options.items() if name != "port"}
    for name in ("logdir", "index"):
        if key.get(name):
            key[name] = os.path.normpath(os.path.join(cwd, key[name]))
    if key.get("logdir_spec"):
        key["cwd"] = cwd  # the spec's paths are relative to where it was started
    return key


def _spawn(tokens: builtins.list[str], cwd: str) -> tuple[subprocess.Popen[bytes], Path]:
    directory = info_dir()
    # The server's output goes to a file, not a pipe: it outlives this kernel.
    with tempfile.NamedTemporaryFile(
        dir=directory, prefix="new-", suffix=".log", delete=False
    ) as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stepscope", "serve", *tokens],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # an interrupt of the kernel is not meant for the server
        )
    _children[process.pid] = process
    named = directory / f"{process.pid}.log"
    try:
        os.replace(log.name, named)
    except OSError:  # Windows cannot rename a file in use; keep its first name
        named = Path(log.name)
    return process, named


def _wait_announced(process: subprocess.Popen[bytes], log: Path) -> ServerInfo:
    path = info_dir() / f"{process.pid}.json"
    deadline = time.monotonic() + ANNOUNCE_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UsageError(_failure(process.returncode, log))
        server = _read_info(path)
        if server is not None:
            return server
        time.sleep(_POLL)
    raise UsageError(
        f"stepscope did not start within {ANNOUNCE_TIMEOUT:.0f} s; its last output: {_tail(log)}"
    )


def _wait_ready(
    server: ServerInfo, process: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    """Waits until the server answers over HTTP (it answers once it has read the logdir)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if _answers(server):
            return
        if process is not None and log is not None and process.poll() is not None:
            raise UsageError(_failure(process.returncode, log))
        if process is None and not _alive(server):
            raise UsageError(f"the stepscope server on port {server.port} stopped; run it again")
        time.sleep(_POLL)
    raise _StillReadingError(
        f"stepscope (port {server.port}, pid {server.pid}) is still reading the logdir after "
        f"{READY_TIMEOUT:.0f} s and goes on in the background; run the same %stepscope again "
        f"to show it, or stepscope.notebook.stop({server.port})"
    )


def _local_host(server: ServerInfo) -> str:
    """Where this machine reaches the server (an unspecified address means every interface)."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(server.host, server.host)


def _answers(server: ServerInfo) -> bool:
    host = _local_host(server)
    host = f"[{host}]" if ":" in host else host
    request = urllib.request.Request(f"http://{host}:{server.port}{server.path_prefix}/api/status")
    if server.token:
        request.add_header("Authorization", f"token {server.token}")
    # No proxy: a proxy from the environment cannot reach this machine's loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _failure(returncode: int, log: Path) -> str:
    """The server's own ``Error: ...`` line, else its last lines."""
    lines = _lines(log)
    errors = [line for line in lines if line.startswith("Error: ")]
    if errors:
        return errors[-1].removeprefix("Error: ")
    return f"stepscope exited with code {returncode}; its last output: {_tail(log)}"


def _lines(log: Path) -> builtins.list[str]:
    try:
        return log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _tail(log: Path) -> str:
    return " | ".join(line.strip() for line in _lines(log)[-5:] if line.strip()) or "(nothing)"


# -- what is running -------------------------------------------------------------------


def _read_info(path: Path) -> ServerInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerInfo(**{field.name: data[field.name] for field in fields(ServerInfo)})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _forget(directory: Path, path: Path) -> None:
    """Removes the entry (and log) of a server that is gone; a live server's file stays."""
    if path.stem.isdigit() and _pid_alive(int(path.stem)):
        return
    path.unlink(missing_ok=True)
    (directory / f"{path.stem}.log").unlink(missing_ok=True)


def _find(port: int | None) -> ServerInfo:
    running = list()
    if not running:
        raise NotFoundError(
            "no stepscope server is running; start one with %stepscope --logdir DIR"
        )
    if port is None:
        return running[-1]
    for server in running:
        if server.port == port:
            return server
    ports = ", ".join(str(server.port) for server in running)
    raise NotFoundError(f"no stepscope server on port {port}; running on: {ports}")


def _alive(server: ServerInfo) -> bool:
    # Both: a pid can be reused by another program once the server is gone.
    return _pid_alive(server.pid) and _port_open(server)


def _pid_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    if os.name != "posix":
        return True  # no cheap check; the port check decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_open(server: ServerInfo) -> bool:
    try:
        with socket.create_connection((_local_host(server), server.port), timeout=1):
            return True
    except OSError:
        return False


def _terminate(pid: int, timeout: float) -> None:
    """Ctrl-C (the server then removes its entry), and a kill if it does not stop in time."""
    # Checked first: the pid of a server that exited and was reaped may be someone else's now.
    if _pid_alive(pid):
        _signal(pid, signal.SIGINT if os.name == "posix" else signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(_POLL)
        if _pid_alive(pid):
            _signal(pid, signal.SIGKILL if os.name == "posix" else signal.SIGTERM)
    child = _children.pop(pid, None)
    if child is not None:
        child.wait()


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


# -- IPython ---------------------------------------------------------------------------


def _show(server: ServerInfo, height: int) -> None:
    import IPython.display

    # IPython's display() is untyped; its contract is documented: a dict of mimetype to data.
    show: Callable[..., Any] = IPython.display.display
    url = server.url
    frame = (
        f'<iframe src="{html.escape(url)}" width="100%" height="{int(height)}" '
        f'frameborder="0" title="stepscope on port {server.port}"></iframe>'
    )
    show({"text/html": frame, "text/plain": f"stepscope: {url}"}, raw=True)


def _magic(line: str) -> None:
    """Start (or reuse) a stepscope server and show it: ``%stepscope --logdir runs``.

    Takes the flags of the ``stepscope`` command (``%stepscope --help`` lists
    them). A server already running with the same flags is reused.
    """
    from IPython.core.error import UsageError as MagicUsageError

    if "--help" in line.split():
        print(_help())
        return
    try:
        start(line)
    except StepscopeError as error:
        # IPython shows a UsageError as one line, without a traceback.
        raise MagicUsageError(str(error)) from None


def _help() -> str:
    from stepscope.cli import serve as serve_command

    context = click.Context(serve_command, info_name="%stepscope")
    return serve_command.get_help(context)
