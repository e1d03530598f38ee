"""``stepscope.CheckpointManager``: ``tf.train.CheckpointManager`` for PyTorch.

Checkpoints are ``<checkpoint_name>-<step>.pt`` files written by ``torch.save``,
each atomically (a temporary file in the same directory, fsynced, renamed over
the final name, the directory fsynced), so a crash mid-save never damages the
latest good checkpoint. A JSON index (``<checkpoint_name>-index.json``, written
the same way) keeps their order and which ones ``keep_checkpoint_every_n_hours``
preserved; when it is missing or stale, the files are scanned. torch is
imported only to save or restore. See ``docs/checkpoint.md``.
"""

from __future__ import annotations

import contextlib
import json
import operator
import os
import pickle
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any

from stepscope.errors import NotFoundError, StepscopeError, UnprocessableError, UsageError
from stepscope.files import write_atomically
from stepscope.warnings import warn_once

if TYPE_CHECKING:
    from stepscope.writer import SummaryWriter

__all__ = [
    "CheckpointLoadError",
    "CheckpointManager",
    "CheckpointNotFoundError",
    "CheckpointWriteError",
    "latest_checkpoint",
]

_INDEX_VERSION = 1
_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")


class CheckpointNotFoundError(NotFoundError):
    """There is no checkpoint to restore (or the one asked for does not exist)."""


class CheckpointLoadError(UnprocessableError):
    """A checkpoint file exists but torch cannot load it (truncated, damaged, untrusted objects)."""


class CheckpointWriteError(StepscopeError, OSError):
    """A checkpoint could not be written: the directory is missing, not writable, or full."""

    http_status = 500


@dataclass(frozen=True)
class _Entry:
    step: int
    time: float  # when it was saved: keep_checkpoint_every_n_hours measures from this
    preserved: bool = False  # kept by keep_checkpoint_every_n_hours, beyond max_to_keep


@dataclass
class _State:
    entries: list[_Entry]  # oldest to newest
    highest_number: int  # the next save without a step is numbered one more
    last_preserved: float


class CheckpointManager:
    """Saves, lists, prunes and restores the checkpoints of a run in ``directory``.

    Example::

        manager = stepscope.CheckpointManager("checkpoints", max_to_keep=5)
        if manager.latest_checkpoint:
            state = manager.restore()
            model.load_state_dict(state["model"])
        manager.save({"model": model.state_dict(), "step": step}, step)

    Args:
        directory: where the checkpoints go; created on the first save.
        max_to_keep: how many recent checkpoints to keep (``None`` keeps all).
        keep_checkpoint_every_n_hours: additionally keep, for good, one
            checkpoint each time this many hours have passed since the last
            one kept that way (TensorFlow's rule).
        checkpoint_name: the file prefix: ``<checkpoint_name>-<step>.pt``.
        writer: a :class:`stepscope.SummaryWriter`; each save is then marked in
            its run (a ``SessionLog`` CHECKPOINT event at that step).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_to_keep: int | None = 5,
        keep_checkpoint_every_n_hours: float | None = None,
        checkpoint_name: str = "ckpt",
        writer: SummaryWriter | None = None,
    ) -> None:
        self.directory = os.fspath(directory)
        _check_arguments(
            self.directory, max_to_keep, keep_checkpoint_every_n_hours, checkpoint_name
        )
        self.max_to_keep = max_to_keep
        self.keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self.checkpoint_name = checkpoint_name
        self.writer = writer
        _remove_stale_temporaries(self.directory, checkpoint_name)
        self._state = _read_state(self.directory, checkpoint_name)

    # -- listing --------------------------------------------------------------

    @property
    def latest_checkpoint(self) -> str | None:
        """The path of the newest checkpoint, or ``None`` when there is none yet."""
        entries = self._state.entries
        return self._path(entries[-1].step) if entries else None

    @property
    def checkpoints(self) -> list[str]:
        """Every checkpoint this manager keeps, oldest first (preserved ones included)."""
        return [self._path(entry.step) for entry in self._state.entries]

    @property
    def preserved_checkpoints(self) -> list[str]:
        """The checkpoints kept beyond ``max_to_keep`` by ``keep_checkpoint_every_n_hours``."""
        return [self._path(entry.step) for entry in self._state.entries if entry.preserved]

    def _path(self, step: int) -> str:
        return os.path.join(self.directory, _file_name(self.checkpoint_name, step))

    # -- saving ---------------------------------------------------------------

    def save(self, state: Any, step: Any = None, *, checkpoint_number: Any = None) -> str:
        """Write ``state`` (anything ``torch.save`` takes) as a checkpoint; return its path.

        ``step`` (or TensorFlow's name for it, ``checkpoint_number``) numbers the
        file; without one, it is one more than the highest number used in this
        directory (so the first is 1, as in TensorFlow).
        Saving a number that exists replaces that checkpoint (atomically).

        Example: ``manager.save({"model": model.state_dict()}, checkpoint_number=step)``
        """
        number = self._number(step, checkpoint_number)
        torch = _import_torch()
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as error:
            raise _write_error(self.directory, error) from error
        _remove_stale_temporaries(self.directory, self.checkpoint_name)
        path = self._path(number)
        _atomic_write(path, lambda file: torch.save(state, file))
        self._record(number)
        if self.writer is not None:
            self.writer.add_checkpoint(path, number)
        return path

    def _record(self, number: int) -> None:
        """List the checkpoint just saved, prune the old ones, and write the index."""
        old = self._state
        entries = [entry for entry in old.entries if entry.step != number]
        entries.append(_Entry(number, time.time()))
        every = self.keep_checkpoint_every_n_hours
        kept, dropped, last = _sweep(entries, self.max_to_keep, every, old.last_preserved)
        # The index is written after the deletions: a file it does not list can
        # then only be a checkpoint saved just before a crash.
        kept = self._delete(dropped, kept)
        self._state = _State(kept, max(old.highest_number, number), last)
        _write_index(self.directory, self.checkpoint_name, self._state)

    def _number(self, step: Any, checkpoint_number: Any) -> int:
        if step is not None and checkpoint_number is not None:
            raise UsageError("give the step or checkpoint_number, not both (they are the same)")
        given = checkpoint_number if step is None else step
        if given is None:
            return self._state.highest_number + 1
        try:
            number = operator.index(given)
        except TypeError:
            raise UsageError(
                f"the checkpoint step must be an integer, got {given!r}; pass int(step)"
            ) from None
        if number < 0:
            raise UsageError(f"the checkpoint step must be 0 or more, got {number}")
        return number

    def _delete(self, dropped: list[_Entry], kept: list[_Entry]) -> list[_Entry]:
        """Delete the files of ``dropped``; any that cannot be deleted stay listed for next time."""
        for entry in dropped:
            path = self._path(entry.step)
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            except OSError as error:
                # The new checkpoint is safe: an old one that would not go is
                # worth a warning, not a failed save.
                message = f"could not delete the old checkpoint {path} ({error.strerror})"
                warn_once(message + "; it is retried at the next save", key=(message,))
                kept = [entry, *kept]
        return kept

    # -- restoring ------------------------------------------------------------

    def restore(
        self,
        path: str | os.PathLike[str] | None = None,
        map_location: Any = None,
        *,
        weights_only: bool = True,
    ) -> Any:
        """Load a checkpoint (the latest by default) and return what was saved.

        ``map_location`` is ``torch.load``'s (e.g. ``"cpu"``). ``weights_only``
        (torch's safe default) loads tensors and plain containers only; pass
        ``False`` for checkpoints holding your own classes, if you trust them.

        Example: ``model.load_state_dict(manager.restore()["model"])``
        """
        if path is None:
            path = self.latest_checkpoint
            if path is None:
                raise CheckpointNotFoundError(
                    f"there is no checkpoint in {self.directory} (no "
                    f"{self.checkpoint_name}-<step>.pt); save one first, or check the directory"
                )
        return self._load(os.fspath(path), map_location, weights_only)

    def _load(self, path: str, map_location: Any, weights_only: bool) -> Any:
        torch = _import_torch()
        if not os.path.isfile(path):
            raise CheckpointNotFoundError(
                f"checkpoint {path} does not exist; {self._others_hint(path)}"
            )
        try:
            return torch.load(path, map_location=map_location, weights_only=weights_only)
        except Exception as error:
            problem = self._load_problem(path, error, weights_only)
            if problem is None:  # not the file's fault (e.g. a map_location device is missing)
                raise
            raise CheckpointLoadError(problem) from error

    def _load_problem(self, path: str, error: Exception, weights_only: bool) -> str | None:
        """What is wrong with the file at ``path``, if ``error`` comes from its content."""
        found = _UNSUPPORTED_GLOBAL.search(str(error))
        if weights_only and found:
            return (
                f"checkpoint {path} holds {found.group(1)}, which weights_only=True does "
                "not load; if you trust the file, restore it with weights_only=False"
            )
        if isinstance(error, PermissionError):
            return None
        # torch writes zip archives: a file that is not one was cut short or overwritten.
        if not isinstance(error, (EOFError, pickle.UnpicklingError)) and zipfile.is_zipfile(path):
            return None
        reason = ": ".join([type(error).__name__, *str(error).splitlines()[:1]])[:200]
        return (
            f"checkpoint {path} cannot be loaded, it is truncated or damaged ({reason}); "
            f"{self._others_hint(path)}"
        )

    def _others_hint(self, path: str) -> str:
        target = os.path.abspath(path)
        others = [
            other
            for other in self.checkpoints
            if os.path.isfile(other) and os.path.abspath(other) != target
        ]
        if not others:
            return f"no other checkpoint is kept in {self.directory}"
        names = ", ".join(os.path.basename(other) for other in others)
        return f"restore an earlier one with manager.restore({others[-1]!r}) (kept: {names})"


def latest_checkpoint(
    directory: str | os.PathLike[str], checkpoint_name: str = "ckpt"
) -> str | None:
    """The newest checkpoint's path in ``directory``, or ``None`` (``tf.train.latest_checkpoint``).

    Example: ``if stepscope.latest_checkpoint("checkpoints"): state = manager.restore()``
    """
    entries = _read_state(os.fspath(directory), checkpoint_name).entries
    if not entries:
        return None
    return os.path.join(os.fspath(directory), _file_name(checkpoint_name, entries[-1].step))


# -- pruning ------------------------------------------------------------------


def _sweep(
    entries: list[_Entry],
    max_to_keep: int | None,
    every_n_hours: float | None,
    last_preserved: float,
) -> tuple[list[_Entry], list[_Entry], float]:
    """Split ``entries`` into (kept, to delete) and return the new last-preserved time.

    TensorFlow's rule: the oldest checkpoints beyond ``max_to_keep`` go, except
    that one is preserved for good when it was saved at least ``every_n_hours``
    after the last one preserved.
    """
    if max_to_keep is None:
        return entries, [], last_preserved
    recent = [entry for entry in entries if not entry.preserved]
    leaving = recent[: max(len(recent) - max_to_keep, 0)]
    dropped: list[_Entry] = []
    preserved: dict[int, _Entry] = {}
    for entry in leaving:
        if every_n_hours is not None and entry.time - every_n_hours * 3600 >= last_preserved:
            preserved[entry.step] = replace(entry, preserved=True)
            last_preserved = entry.time
        else:
            dropped.append(entry)
    gone = {entry.step for entry in dropped}
    kept = [preserved.get(e.step, e) for e in entries if e.preserved or e.step not in gone]
    return kept, dropped, last_preserved


# -- the directory and its index ----------------------------------------------


def _file_name(name: str, step: int) -> str:
    return f"{name}-{step}.pt"


def _read_state(directory: str, name: str) -> _State:
    """The checkpoints in ``directory``: the index's, reconciled with the files there."""
    on_disk = _scan(directory, name)
    index = _read_index(directory, name)
    if index is None:
        # Nothing says which were preserved: keep the oldest, so pruning cannot
        # delete an hourly checkpoint whose record was lost.
        entries = [_Entry(step, mtime) for step, mtime in sorted(on_disk.items())]
        last = float("-inf") if entries else time.time()
        return _State(entries, max(on_disk, default=0), last)
    known = [entry for entry in index.entries if entry.step in on_disk]
    listed = {entry.step for entry in index.entries}
    # A file the index does not list was saved just before a crash: it is the newest.
    adopted = [_Entry(step, on_disk[step]) for step in sorted(on_disk) if step not in listed]
    counter = max(index.highest_number, *on_disk, 0)
    return _State(known + adopted, counter, index.last_preserved)


def _scan(directory: str, name: str) -> dict[int, float]:
    """Step -> modification time of each complete checkpoint file in ``directory``."""
    pattern = re.compile(re.escape(name) + r"-(\d+)\.pt")
    now = time.time()
    found: dict[int, float] = {}
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for item in os.scandir(directory):
            match = pattern.fullmatch(item.name)
            if match and item.is_file():
                with contextlib.suppress(FileNotFoundError):
                    found[int(match.group(1))] = min(item.stat().st_mtime, now)
    return found


def _read_index(directory: str, name: str) -> _State | None:
    path = os.path.join(directory, f"{name}-index.json")
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
        if data["version"] != _INDEX_VERSION:
            raise ValueError(f"version {data['version']}")
        entries = [
            _Entry(int(item["step"]), float(item["time"]), bool(item["preserved"]))
            for item in data["checkpoints"]
        ]
        last = data["last_preserved"]
        preserved_since = float("-inf") if last is None else float(last)
        return _State(entries, int(data["highest_number"]), preserved_since)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        warn_once(
            f"the checkpoint index {path} is unreadable ({error}); using the checkpoint "
            "files found next to it (it is rewritten at the next save)",
            key=("checkpoint-index", path),
        )
        return None


def _write_index(directory: str, name: str, state: _State) -> None:
    data = {
        "version": _INDEX_VERSION,
        "highest_number": state.highest_number,
        # -inf (recovered from a scan: nothing preserved yet) is not valid JSON.
        "last_preserved": None if state.last_preserved == float("-inf") else state.last_preserved,
        "checkpoints": [
            {"step": e.step, "time": e.time, "preserved": e.preserved} for e in state.entries
        ],
    }
    text = json.dumps(data, indent=1, allow_nan=False).encode("utf-8")
    _atomic_write(os.path.join(directory, f"{name}-index.json"), lambda file: file.write(text))


def _atomic_write(final: str, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``final`` durably: either the old file or the complete new one (stepscope.files)."""
    try:
        write_atomically(final, write, durable=True)
    except OSError as error:
        raise _write_error(final, error) from error


def _write_error(path: str, error: OSError) -> CheckpointWriteError:
    return CheckpointWriteError(
        f"cannot write {path}: {error.strerror or error}; checkpoints need a writable "
        "directory with free space (choose another directory or free some)"
    )


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Delete the temporary files that saves killed mid-write left behind (ours only)."""
    pattern = re.compile(
        r"\." + re.escape(name) + r"-(?:\d+\.pt|index\.json)\.tmp-(\d+)-[0-9a-f]{8}"
    )
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for item in os.scandir(directory):
            match = pattern.fullmatch(item.name)
            if match and not _process_alive(int(match.group(1))):
                # Best effort: a leftover is ignored by every reader anyway.
                with contextlib.suppress(OSError):
                    os.remove(item.path)


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` may still be writing its temporary file (so it must not be removed)."""
    if pid == os.getpid() or os.name == "nt":  # signal 0 is not a probe on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, owned by another user
        pass
    return True


def _check_arguments(
    directory: str, max_to_keep: int | None, every_n_hours: float | None, name: str
) -> None:
    problem = ""
    if not directory or (os.path.exists(directory) and not os.path.isdir(directory)):
        problem = f"the checkpoint directory must be a directory's path, got {directory!r}"
    elif max_to_keep is not None and (type(max_to_keep) is not int or max_to_keep < 1):
        problem = f"max_to_keep must be a positive int or None (keep all), got {max_to_keep!r}"
    elif every_n_hours is not None and not every_n_hours > 0:
        problem = f"keep_checkpoint_every_n_hours must be positive or None, got {every_n_hours!r}"
    elif not name or os.sep in name or "/" in name:
        problem = f"checkpoint_name must be a file name prefix such as 'ckpt', got {name!r}"
    if problem:
        raise UsageError(problem)


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as error:
        raise UsageError(
            "stepscope.CheckpointManager saves and loads with PyTorch, which is not "
            "installed; install torch (pip install torch)"
        ) from error
    return torch
