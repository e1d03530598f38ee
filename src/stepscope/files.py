"""Writing a file so that readers see the old one or the whole new one, never half.

Used for checkpoints, their index, Lightning's ``hparams.yaml`` and the
server's info file. The temporary file sits beside the final one (a rename
is atomic only within a filesystem) and is named
``.<name>.tmp-<pid>-<random>``, so a cleaner can tell whose it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from typing import IO


def write_atomically(
    final: str | os.PathLike[str],
    write: Callable[[IO[bytes]], object],
    *,
    mode: int = 0o666,
    durable: bool = False,
) -> None:
    """Write ``final`` through ``write(file)`` into a temporary file renamed over it.

    ``mode`` is the new file's permission (before the umask); ``durable``
    also fsyncs the file and the directory, so the new file survives a
    power cut once this returns. Raises ``OSError``; the temporary file is
    removed on any failure.

    Example::

        write_atomically("hparams.yaml", lambda f: f.write(text.encode()))
    """
    directory, base = os.path.split(os.fspath(final))
    temporary = os.path.join(directory, f".{base}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            if durable:
                os.fsync(file.fileno())
        os.replace(temporary, final)
        if durable:
            _fsync_directory(directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable; Windows cannot open a directory for this.
    if os.name == "nt":
        return
    descriptor = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
