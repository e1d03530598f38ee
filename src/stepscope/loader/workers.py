"""Worker processes for a large load: one per core, each parsing whole runs.

Workers are plain subprocesses (``python -m stepscope.loader.workers``)
talking length-prefixed pickles over their stdin and stdout, not
``multiprocessing``: its spawn mode re-imports the caller's ``__main__``,
which breaks scripts and notebooks that call ``stepscope.open()`` at top
level, and fork is unsafe in a process with threads (the writer's, a
server's, DuckDB's).

Only stepscope's own processes are ever on the other end of the pipes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

_LENGTH = struct.Struct("<Q")


def _send(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError
    (length,) = _LENGTH.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return pickle.loads(data)


class WorkerError(RuntimeError):
    """A worker failed on one task (the message says how); the other tasks are unaffected."""


def run_parallel(
    function: Callable[..., Any], tasks: list[tuple[Any, ...]], workers: int
) -> Iterator[tuple[int, Any]]:
    """Yield ``(task number, result or WorkerError)`` as workers finish, in any order.

    ``function`` must be importable by module and name (a worker looks it up).
    """
    target = (function.__module__, function.__qualname__)
    pending: queue.Queue[int | None] = queue.Queue()
    for number in range(len(tasks)):
        pending.put(number)
    results: queue.Queue[tuple[int, Any]] = queue.Queue()
    count = max(1, min(workers, len(tasks)))

    def feed() -> None:
        environment = dict(os.environ, PYTHONUNBUFFERED="1")
        process = subprocess.Popen(
            [sys.executable, "-m", "stepscope.loader.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            while True:
                try:
                    number = pending.get_nowait()
                except queue.Empty:
                    break
                if number is None:
                    break
                try:
                    _send(process.stdin, (target, tasks[number]))
                    ok, value = _receive(process.stdout)
                except (EOFError, OSError) as error:
                    results.put(
                        (number, WorkerError(f"the worker process died ({error or 'no reply'})"))
                    )
                    return
                results.put((number, value if ok else WorkerError(value)))
        finally:
            with contextlib.suppress(OSError):
                process.stdin.close()
            process.stdout.close()
            process.wait()
            results.put((-1, None))  # this feeder is done

    threads = [threading.Thread(target=feed, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    finished = 0
    while finished < count:
        number, value = results.get()
        if number < 0:
            finished += 1
        else:
            yield number, value
    for thread in threads:
        thread.join()


def _serve() -> None:
    import importlib

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Nothing else may write to the result pipe.
    sys.stdout = sys.stderr
    while True:
        try:
            (module, name), args = _receive(stdin)
        except EOFError:
            return
        try:
            function = getattr(importlib.import_module(module), name)
            reply: tuple[bool, Any] = (True, function(*args))
        except Exception as error:  # reported to the parent, which carries on
            reply = (False, f"{type(error).__name__}: {error}")
        _send(stdout, reply)


if __name__ == "__main__":
    _serve()
