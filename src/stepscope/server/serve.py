"""``stepscope --logdir DIR``: read the logdir into the index, keep following it, serve the API.

TensorBoard's flags work. The server binds to 127.0.0.1 unless ``--host`` or
``--bind_all`` says otherwise; bound beyond loopback it requires the token
that the printed URL carries, unless ``--no_auth``.

While it runs, the server describes itself (pid, port, options) in a file of
the user's info directory (:func:`info_dir`), so that the notebook magic
(:mod:`stepscope.notebook`) can find, reuse and stop it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import os
import secrets
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepscope import __version__
from stepscope.errors import StepscopeError, UsageError
from stepscope.files import write_atomically

DEFAULT_PORT = 6006
_PORT_TRIES = 100


@dataclass
class ServeOptions:
    logdir: str | None = None
    logdir_spec: str | None = None
    host: str | None = None
    port: int | None = None
    bind_all: bool = False
    reload_interval: float = 1.0
    path_prefix: str = ""
    window_title: str = "stepscope"
    index: str | None = None
    no_auth: bool = False


class Follower:
    """Reads what is new in the logdir every ``interval`` seconds, in a thread of its own."""

    def __init__(
        self,
        update: Callable[[], Any],
        interval: float,
        warm: Callable[[], None] | None = None,
    ) -> None:
        self._update = update
        self._warm = warm
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stepscope-follower", daemon=True)
        self.state: dict[str, Any] = {"loading": True, "updates": 0, "error": None}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def status(self) -> dict[str, Any]:
        return dict(self.state)

    def step(self) -> None:
        """One update; a failure (e.g. the logdir vanished) is kept in the state and retried."""
        try:
            report = self._update()
        except (StepscopeError, OSError) as error:
            # E.g. the logdir vanished: say so on the page, retry, recover when it is back.
            self.state["error"] = str(error)
        except Exception as error:  # a bug: keep serving what is in the index
            self.state["error"] = (
                f"internal error while reading the logdir: {type(error).__name__}: {error}"
            )
        else:
            self.state.update(
                error=None,
                loading=False,
                updates=self.state["updates"] + 1,
                last_update=time.time(),
                last_seconds=report.seconds,
                last_events=report.events,
            )

    def _run(self) -> None:
        if self._warm is not None:
            # Read the scalars into memory once, so that the first charts do not wait on disk.
            self.state["warming"] = True
            try:
                self._warm()
            except Exception as error:  # the charts will read on demand instead
                self.state["error"] = f"could not preload the scalars: {error}"
            self.state["warming"] = False
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.interval)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int | None, echo: Callable[[str], None]) -> socket.socket:
    """A listening socket on ``host``: ``port`` exactly if given, else 6006 or the next free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    candidates = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + _PORT_TRIES)
    last_error: OSError | None = None
    for candidate in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as error:
            sock.close()
            last_error = error
            continue
        sock.listen(128)
        if port is None and candidate != DEFAULT_PORT:
            echo(f"Port {DEFAULT_PORT} is in use; serving on port {candidate} instead.")
        return sock
    if port is not None:
        raise UsageError(
            f"cannot listen on {host}:{port} ({getattr(last_error, 'strerror', last_error)}); "
            "pass --port with a free port, or leave it out to take the next free one"
        )
    raise UsageError(
        f"no free port on {host} between {DEFAULT_PORT} and {DEFAULT_PORT + _PORT_TRIES - 1}; pass --port"
    )


def info_dir() -> Path:
    """The user's directory of running servers (one ``<pid>.json`` each), created private.

    It lives in the temporary directory (``$TMPDIR``), named per user on a
    shared machine. Raises ``UsageError`` if someone else owns it.
    """
    uid = os.getuid() if hasattr(os, "getuid") else None
    path = Path(tempfile.gettempdir()) / (
        ".stepscope-info" + (f"-{uid}" if uid is not None else "")
    )
    path.mkdir(mode=0o700, exist_ok=True)
    found = path.lstat()
    if path.is_symlink() or (uid is not None and found.st_uid != uid):
        # Another user could read our tokens or plant entries: refuse rather than trust it.
        raise UsageError(f"{path} is not a directory of yours; remove it (or set TMPDIR)")
    return path


def write_info(
    options: ServeOptions,
    *,
    host: str,
    port: int,
    prefix: str,
    token: str | None,
    echo: Callable[[str], None],
) -> Path | None:
    """Describes this server in :func:`info_dir`; a failure only costs the notebook its view of it."""
    info = {
        "pid": os.getpid(),
        "port": port,
        "host": host,
        "path_prefix": prefix,
        "token": token,
        "cwd": os.getcwd(),
        "started": time.time(),
        "version": __version__,
        "options": dataclasses.asdict(options),
    }
    try:
        path = info_dir() / f"{os.getpid()}.json"
        # Private (it may hold the token), and renamed into place so no reader sees half of it.
        text = json.dumps(info).encode("utf-8")
        write_atomically(path, lambda file: file.write(text), mode=0o600)
    except (OSError, StepscopeError) as error:
        echo(
            f"warning: could not write the server's info file ({error}); %stepscope will not see it"
        )
        return None
    return path


def stop_on_sigterm() -> None:
    """SIGTERM (a service manager, ``kill``) and Ctrl-C stop the server alike, cleaning up.

    Python's default for SIGTERM ends the process at once, leaving the info
    file behind; uvicorn catches both signals while serving, but raises them
    again once it has shut down. Both now arrive here as a ``KeyboardInterrupt``,
    and the request is remembered: DuckDB turns an interrupt in the middle of
    a query into its own ``Query interrupted`` error, which then means the same.
    """
    if threading.current_thread() is threading.main_thread():
        STOP_REQUESTED.clear()
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)


#: Set when a signal asked the server to stop.
STOP_REQUESTED = threading.Event()


def _interrupt(signum: int, frame: Any) -> None:
    STOP_REQUESTED.set()
    raise KeyboardInterrupt


def serve(options: ServeOptions, echo: Callable[[str], None]) -> None:
    """Run the server until interrupted (Ctrl-C)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import RedirectResponse
    from starlette.routing import Mount, Route

    from stepscope.loader.discovery import check_sources, parse_logdir_spec
    from stepscope.server.app import create_app, web_dist
    from stepscope.store.index import Index
    from stepscope.store.provider import DataProvider

    spec = options.logdir_spec or options.logdir
    if not spec:
        raise UsageError("no logdir given: pass --logdir DIR (or --logdir_spec name:DIR,...)")
    sources = parse_logdir_spec(spec)
    check_sources(sources)
    host = options.host or ("0.0.0.0" if options.bind_all else "127.0.0.1")
    token = None if options.no_auth or is_loopback(host) else secrets.token_urlsafe(24)
    prefix = "/" + options.path_prefix.strip("/") if options.path_prefix.strip("/") else ""

    stop_on_sigterm()
    sock = bind(host, options.port, echo)
    try:
        index = Index.open(sources, options.index)
    except BaseException:
        sock.close()
        raise
    data = DataProvider(index)
    info = None
    try:
        port = sock.getsockname()[1]
        info = write_info(options, host=host, port=port, prefix=prefix, token=token, echo=echo)
        echo(f"Reading {spec} into the index {index.path} ...")
        started = time.perf_counter()
        shown = [started]

        def progress(done: int, total: int, events: int) -> None:
            now = time.perf_counter()
            if now - shown[0] >= 1.0 and done < total:
                shown[0] = now
                echo(f"  {done} of {total} runs read, {events:,} events, {now - started:.0f} s")

        report = data.update(progress)
        runs = len(data.runs())
        echo(
            f"Read {runs} run(s), {report.events:,} new events, in {time.perf_counter() - started:.2f} s."
        )
        for problem in report.problems:
            echo(f"warning: {problem}")
        follower = Follower(data.update, options.reload_interval, warm=data.warm)
        follower.state["loading"] = False
        web = web_dist()
        if web is None:
            echo("warning: the web app was not built with this install; serving the API only.")
        holder: list[Any] = []
        app = create_app(
            data,
            token=token,
            window_title=options.window_title,
            status=follower.status,
            web=web,
            stopping=lambda: bool(holder and holder[0].should_exit),
            echo=echo,
        )
        root: Any = app
        if prefix:

            async def home(request: Any) -> RedirectResponse:
                return RedirectResponse(f"{prefix}/")

            root = Starlette(routes=[Route("/", home), Route(prefix, home), Mount(prefix, app=app)])
        config = uvicorn.Config(
            root, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        server = uvicorn.Server(config)
        holder.append(server)  # event streams end when the server is told to stop
        name = "localhost" if is_loopback(host) else socket.gethostname()
        url = f"http://{name}:{port}{prefix}/" + (f"?token={token}" if token else "")
        echo(f"stepscope is serving {spec} at {url} (Ctrl-C to stop)")
        follower.start()
        try:
            server.run(sockets=[sock])
        finally:
            follower.stop()
        echo("stepscope stopped.")
    except KeyboardInterrupt:
        # Ctrl-C, while reading the logdir or after uvicorn shut down and re-raised it.
        echo("stepscope stopped.")
    except RuntimeError:
        if not STOP_REQUESTED.is_set():
            raise
        echo("stepscope stopped.")  # the signal arrived inside a DuckDB query
    finally:
        if info is not None:
            info.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            sock.close()
        index.close()
