"""Appending events to one event file without making the training loop wait.

The caller's thread does as little as possible: it validates and converts
the arguments (so a mistake raises at the call), then appends a small item
to a queue. One background thread per process (:class:`_Drainer`) turns the
queued items into records and writes them in batches. Three kinds of item:

* a ``(tag, value, step, wall_time)`` tuple: a legacy scalar, the common
  case, serialized by :class:`ScalarEventEncoder` in the batch;
* ``bytes``: an already serialized ``Event``;
* :class:`Deferred`: heavy work (PNG encoding, histogram binning) done off
  the caller's thread, where numpy and Pillow release the GIL so it runs on
  another core.

Why a plain deque and not ``queue.Queue``: a ``Queue.put`` takes a lock and
notifies a condition, which costs more than serializing a scalar event.
``deque.append`` is atomic under the GIL and the consumer polls.

Guarantees:

* data reaches the file (the OS page cache) at least every
  ``min(flush_secs, MAX_DRAIN_INTERVAL)`` seconds and whenever a batch fills,
  so a process killed with SIGKILL loses at most that interval, and the file
  it leaves ends in complete records;
* :meth:`EventFileWriter.flush` returns once everything queued is in the file;
* a write failure is kept and raised at the next call, ``flush()`` or
  ``close()``; the records that failed stay queued and are written by the
  next successful attempt (nothing is dropped);
* memory is bounded: past a high-water mark the caller encodes the backlog
  itself (CPU work, never a wait on the disk).
"""

from __future__ import annotations

import atexit
import io
import itertools
import os
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Union

from stepscope.errors import EventWriteError
from stepscope.proto import event_pb2
from stepscope.records import masked_crc32c, record_header
from stepscope.writer.encoding import ScalarEventEncoder, message_event, summary_event

MAX_DRAIN_INTERVAL = 2.0
"""Upper bound, in seconds, on how long a queued event waits for the file."""

_BATCH_ITEMS = 1024  # wake the background thread when this many items wait
_HIGH_WATER_ITEMS = 4096  # past this the caller serializes the backlog itself
# Heavy work waiting for the background thread, past which the caller does its
# own; one item is always allowed, so that a large one can be handed over too.
_MAX_DEFERRED_BYTES = 1 << 20
_WRITE_CHUNK = 4 << 20

_CRC = struct.Struct("<I")
_file_counter = itertools.count()


class Deferred:
    """Work that produces one serialized ``Event``, run off the caller's thread."""

    __slots__ = ("encode", "nbytes")

    def __init__(self, encode: Callable[[], bytes], nbytes: int) -> None:
        self.encode = encode
        self.nbytes = nbytes


_Item = Union[tuple[str, float, int, float], bytes, Deferred]  # noqa: UP007 (runtime alias, py3.10)


def event_file_name(filename_suffix: str = "") -> str:
    """``events.out.tfevents.<time>.<host>.<pid>.<counter><suffix>``, as torch names them."""
    stamp = int(time.time())
    return (
        f"events.out.tfevents.{stamp:010d}.{socket.gethostname()}.{os.getpid()}."
        f"{next(_file_counter)}{filename_suffix}"
    )


class EventFileWriter:
    """Writes events to a new event file in ``logdir``.

    Example::

        writer = EventFileWriter("runs/exp1")
        writer.add_scalar("loss", 0.25, step=10, wall_time=time.time())
        writer.close()
    """

    def __init__(self, logdir: str, flush_secs: float = 120, filename_suffix: str = "") -> None:
        self.logdir = str(logdir)
        self._interval = max(0.05, min(float(flush_secs), MAX_DRAIN_INTERVAL))
        self._queue: deque[_Item] = deque()
        self._deferred_bytes = 0
        self._deferred_lock = threading.Lock()
        self._encode_lock = threading.Lock()  # pops from the queue and serializes
        self._io_lock = threading.Lock()  # writes to the file, in serialization order
        self._encoded = bytearray()  # framed records serialized but not yet written
        self._unwritten = bytearray()  # records a failed write kept, written first next time
        self._scalars = ScalarEventEncoder()
        self._error: BaseException | None = None
        self._closed = False
        self._next_drain = time.monotonic() + self._interval
        # Absolute, so that a later chdir (or the exit-time flush) writes to the same file.
        self._directory = os.path.abspath(self.logdir)
        self.path = os.path.join(self._directory, event_file_name(filename_suffix))
        self._file = self._open_new_file()
        _drainer.register(self)

    # -- the caller's side ------------------------------------------------

    # Each add_* queues its event *before* raising a stored write error, so the
    # call that reports a failure loses nothing either.

    def add_scalar(self, tag: str, value: float, step: int, wall_time: float) -> None:
        """Queue a legacy scalar event."""
        queue = self._queue
        queue.append((tag, value, step, wall_time))
        if len(queue) >= _BATCH_ITEMS:
            self._backlog(len(queue))
        if self._error is not None:
            self._raise_error()

    def add_event_bytes(self, payload: bytes) -> None:
        """Queue an already serialized ``Event``."""
        self._queue.append(payload)
        if len(self._queue) >= _BATCH_ITEMS:
            self._backlog(len(self._queue))
        if self._error is not None:
            self._raise_error()

    def add_deferred(self, encode: Callable[[], bytes], nbytes: int) -> None:
        """Queue heavy work that returns a serialized ``Event``.

        ``encode`` must only fail for reasons outside the caller's control:
        validate the arguments before deferring.
        """
        with self._deferred_lock:
            waiting = self._deferred_bytes
            inline = waiting > 0 and waiting + nbytes > _MAX_DEFERRED_BYTES
            if not inline:
                self._deferred_bytes += nbytes
        if inline:
            # The background thread is behind: do this one here, so that
            # memory stays bounded and both cores work.
            self._queue.append(encode())
        else:
            self._queue.append(Deferred(encode, nbytes))
        _drainer.wake()
        if self._error is not None:
            self._raise_error()

    def add_event(self, event: Any, step: Any = None, walltime: float | None = None) -> None:
        """Queue an ``Event`` message (ours or tensorboard's), as torch's ``FileWriter`` does.

        Like torch, this sets the event's wall time (now, unless given) and step.
        """
        event.wall_time = time.time() if walltime is None else float(walltime)
        if step is not None:
            event.step = int(step)
        self.add_event_bytes(event.SerializeToString())

    def add_summary(
        self, summary: Any, global_step: Any = None, walltime: float | None = None
    ) -> None:
        """Queue a ``Summary`` message (ours or tensorboard's) as one event.

        PyTorch Lightning's TensorBoard logger calls this on ``_get_file_writer()``.
        """
        step = 0 if global_step is None else int(global_step)
        wall = time.time() if walltime is None else float(walltime)
        self.add_event_bytes(summary_event(summary, step, wall))

    def get_logdir(self) -> str:
        """The directory of the event file."""
        return self.logdir

    def flush(self) -> None:
        """Return once every queued event is in the file.

        A write that failed in the background kept its bytes, and this
        flush's own write put them in the file first: its error is then
        past, not raised. Any other stored error is.
        """
        self._drain()
        if isinstance(self._error, OSError):
            self._error = None
        if self._error is not None:
            self._raise_error()

    def close(self) -> None:
        """Flush and close the file. Calling it again does nothing.

        If the final write fails, the error is raised and the writer stays open
        with its events: a later ``close()`` (or the exit-time flush) retries.
        """
        if self._closed:
            return
        self.flush()
        self._closed = True
        _drainer.unregister(self)
        with self._io_lock:
            self._file.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _backlog(self, waiting: int) -> None:
        _drainer.wake()
        if waiting >= _HIGH_WATER_ITEMS and self._encode_lock.acquire(blocking=False):
            # Serialize the backlog here (compact bytes instead of Python
            # objects); the background thread writes it.
            try:
                self._encode_queue()
            finally:
                self._encode_lock.release()

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        assert error is not None
        if isinstance(error, EventWriteError):
            raise error
        raise EventWriteError(
            f"could not write events to {self.path}: {error}; the unwritten events are "
            "kept and will be written by the next flush() once the problem is fixed"
        ) from error

    # -- the background side ----------------------------------------------

    def _due(self, now: float) -> bool:
        return bool(self._queue or self._encoded or self._unwritten) and (
            now >= self._next_drain or len(self._queue) >= _BATCH_ITEMS or self._deferred_bytes > 0
        )

    def _drain_in_background(self) -> None:
        try:
            self._drain()
        except BaseException as error:  # kept for the caller, never swallowed
            self._error = error

    def _drain(self) -> None:
        """Serialize everything queued and write it, in order."""
        with self._encode_lock:
            self._next_drain = time.monotonic() + self._interval
            self._encode_queue()
            chunk, self._encoded = self._encoded, bytearray()
            # Take the I/O lock before letting go of the queue, so chunks
            # reach the file in the order they were serialized.
            self._io_lock.acquire()
        try:
            self._write(chunk)
        finally:
            self._io_lock.release()

    def _encode_queue(self) -> None:
        """Move every queued item into ``self._encoded`` as framed records."""
        queue = self._queue
        out = self._encoded
        encode_scalar = self._scalars.encode
        header = record_header
        crc = masked_crc32c
        pack_crc = _CRC.pack
        for _ in range(len(queue)):
            item = queue.popleft()
            kind = type(item)
            if kind is tuple:
                payload = encode_scalar(*item)  # type: ignore[misc]
            elif kind is bytes:
                payload = item  # type: ignore[assignment]
            else:
                deferred: Deferred = item  # type: ignore[assignment]
                with self._deferred_lock:
                    self._deferred_bytes -= deferred.nbytes
                payload = deferred.encode()
            out += header(len(payload))
            out += payload
            out += pack_crc(crc(payload))

    def _write(self, chunk: bytearray) -> None:
        """Append ``chunk`` (after anything a failed write kept); call with the I/O lock."""
        if self._unwritten:
            chunk = self._unwritten + chunk
            self._unwritten = bytearray()
        if not chunk:
            return
        done = 0
        try:
            if not self._file.closed and not os.path.exists(self.path):
                self._file.close()
                raise EventWriteError(
                    f"the event file {self.path} was deleted while stepscope was writing "
                    "it; the events since the last write are kept and the next flush() "
                    "writes them to a new file in the same directory"
                )
            if self._file.closed:
                self._file = self._open_new_file()
            view = memoryview(chunk)
            while done < len(chunk):
                done += self._file.write(view[done : done + _WRITE_CHUNK]) or 0
        except EventWriteError:
            self._unwritten = chunk[done:]
            raise
        except OSError as error:
            # Keep only what did not reach the file: the retry appends the rest,
            # so a record cut by the failure is completed, never written twice.
            self._unwritten = chunk[done:]
            raise EventWriteError(
                f"could not write events to {self.path}: {error.strerror or error}; "
                "the unwritten events are kept and will be written by the next "
                "flush() once the problem is fixed"
            ) from error

    def _open_new_file(self) -> io.FileIO:
        try:
            os.makedirs(self._directory, exist_ok=True)
            if os.path.exists(self.path):
                self.path = os.path.join(self._directory, event_file_name())
            handle = io.FileIO(self.path, "ab")
            header = message_event(
                event_pb2.Event(
                    wall_time=time.time(),
                    file_version="brain.Event:2",
                    source_metadata=event_pb2.SourceMetadata(writer="stepscope"),
                )
            )
            handle.write(record_header(len(header)) + header + _CRC.pack(masked_crc32c(header)))
        except OSError as error:
            raise EventWriteError(
                f"cannot create the event file {self.path}: {error.strerror or error}; "
                "check that the log directory is writable and the disk has room"
            ) from error
        return handle


class _Drainer:
    """The one background thread that writes every open event file of the process."""

    TICK = 0.25

    def __init__(self) -> None:
        # Strong references: a writer the user forgot to close is still
        # flushed and closed at exit.
        self._writers: set[EventFileWriter] = set()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def register(self, writer: EventFileWriter) -> None:
        with self._lock:
            self._writers.add(writer)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="stepscope-writer", daemon=True
                )
                self._thread.start()

    def unregister(self, writer: EventFileWriter) -> None:
        with self._lock:
            self._writers.discard(writer)

    def wake(self) -> None:
        if not self._wake.is_set():
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.TICK)
            self._wake.clear()
            now = time.monotonic()
            with self._lock:
                writers = list(self._writers)
            for writer in writers:
                if writer._due(now):
                    writer._drain_in_background()

    def close_all(self) -> None:
        """Flush and close every open writer (at interpreter exit)."""
        with self._lock:
            writers = list(self._writers)
        for writer in writers:
            try:
                writer.close()
            except Exception as error:  # at exit there is no caller left to raise to
                print(f"stepscope: {error}", file=sys.stderr)

    def after_fork(self) -> None:
        """In a forked child (e.g. a DataLoader worker): forget the parent's files.

        The child has copies of the parent's writers and their queues; writing
        them too would duplicate events in the parent's files.
        """
        self._writers = set()
        self._thread = None
        self._lock = threading.Lock()
        self._wake = threading.Event()


_drainer = _Drainer()
atexit.register(_drainer.close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drainer.after_fork)
