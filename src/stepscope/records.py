"""TFRecord framing, the container of every TensorBoard event file.

Each record is little-endian::

    uint64  length N of the payload
    uint32  masked CRC-32C of those 8 length bytes
    N bytes payload (one serialized ``Event``)
    uint32  masked CRC-32C of the payload

Writers call :func:`frame_record`; readers use :class:`RecordReader`, which
follows a growing file: a partial record at the end is *not* corruption (the
writer has not finished it yet), so the reader stops before it and picks up
from the same offset next time. A record whose CRC does not match is
corruption: the reader reports it once through :attr:`RecordReader.problems`,
skips it and carries on with the next good record.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import google_crc32c

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
HEADER_SIZE = _HEADER.size  # 12
FOOTER_SIZE = _FOOTER.size  # 4
# A length field above this is not a real event (protobuf's own limit is 2 GiB).
_MAX_RECORD = 1 << 31

_crc32c = google_crc32c.value
_NONZERO = re.compile(rb"[^\x00]")


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C (Castagnoli) that TFRecord stores for ``data``."""
    crc: int = _crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


_header_cache: dict[int, bytes] = {}


def record_header(length: int) -> bytes:
    """The 12 bytes that precede a payload of ``length`` bytes.

    Payload lengths repeat (every scalar of one tag has the same size), so the
    headers are cached.
    """
    header = _header_cache.get(length)
    if header is None:
        length_bytes = length.to_bytes(8, "little")
        header = length_bytes + _FOOTER.pack(masked_crc32c(length_bytes))
        if len(_header_cache) < 65536:
            _header_cache[length] = header
    return header


def frame_record(payload: bytes) -> bytes:
    """Frame one payload as a complete TFRecord."""
    return record_header(len(payload)) + payload + _FOOTER.pack(masked_crc32c(payload))


@dataclass(frozen=True)
class RecordProblem:
    """A piece of a file that could not be read as records."""

    path: str
    offset: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} at byte {self.offset}"


@dataclass
class RecordReader:
    """Reads the records of one file incrementally.

    ``offset`` is where the next read starts; it only ever advances past
    complete records (good or skipped), so calling :meth:`read` again after
    the writer appended more returns just the new records.

    Example::

        reader = RecordReader("run/events.out.tfevents.123.host")
        for payload in reader.read():
            event = Event.FromString(payload)
    """

    path: str
    offset: int = 0
    chunk_size: int = 16 << 20
    problems: list[RecordProblem] = field(default_factory=list)
    corrupt_records: int = 0
    # Inside a damaged stretch (until the next good record), so that one
    # stretch counts once however the reads are chunked.
    _in_damage: bool = field(default=False, repr=False)

    def read(self) -> Iterator[bytes]:
        """Yield the payloads of the complete records after :attr:`offset`."""
        for _, payload in self.records():
            yield payload

    def records(self) -> Iterator[tuple[int, bytes]]:
        """Yield ``(file offset of the payload, payload)`` for each complete record."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            carry = b""
            while True:
                chunk = f.read(self.chunk_size)
                if not chunk:
                    return
                buf = carry + chunk if carry else chunk
                base = self.offset
                for payload, consumed in self._parse(buf, base):
                    self.offset = base + consumed
                    if payload is not None:
                        yield self.offset - FOOTER_SIZE - len(payload), payload
                carry = buf[self.offset - base :]

    def _parse(self, buf: bytes, base: int) -> Iterator[tuple[bytes | None, int]]:
        """Parse ``buf`` (which starts at file offset ``base``).

        Yields ``(payload, consumed)`` for each complete record, where the
        payload is ``None`` for a skipped corrupt record, and where
        ``consumed`` is how much of ``buf`` is done with after it.
        """
        pos = 0
        end = len(buf)
        unpack_header = _HEADER.unpack_from
        unpack_footer = _FOOTER.unpack_from
        while end - pos >= HEADER_SIZE:
            length, length_crc = unpack_header(buf, pos)
            if length > _MAX_RECORD or masked_crc32c(buf[pos : pos + 8]) != length_crc:
                if not self._in_damage:
                    self._report(base + pos, "corrupt record header (length checksum mismatch)")
                    self._in_damage = True
                resume = _next_header(buf, pos + 1)
                if resume is None:
                    # Keep the tail that could still start a header once more
                    # bytes arrive; everything before it is garbage.
                    yield None, max(pos + 1, end - HEADER_SIZE + 1)
                    return
                pos = resume
                yield None, pos
                continue
            stop = pos + HEADER_SIZE + length + FOOTER_SIZE
            if stop > end:
                return  # a partial record: the writer has not finished it yet
            (payload_crc,) = unpack_footer(buf, stop - FOOTER_SIZE)
            payload = buf[pos + HEADER_SIZE : stop - FOOTER_SIZE]
            if masked_crc32c(payload) != payload_crc:
                self._report(base + pos, "record checksum mismatch")
                pos = stop
                yield None, pos
                continue
            pos = stop
            self._in_damage = False
            yield payload, pos

    def _report(self, offset: int, message: str) -> None:
        self.corrupt_records += 1
        # One report per file: the first problem says where; the count says how much.
        if not self.problems:
            self.problems.append(RecordProblem(self.path, offset, message))


def _next_header(buf: bytes, start: int) -> int | None:
    """The first offset at or after ``start`` holding a valid record header."""
    last = len(buf) - HEADER_SIZE
    pos = start
    while pos <= last:
        # Real lengths are below 4 GiB, so the length's high 4 bytes are zero:
        # jump between such places instead of checking every byte.
        zeros = buf.find(b"\0\0\0\0", pos + 4, last + 8)
        if zeros < 0:
            return None
        pos = zeros - 4
        length, length_crc = _HEADER.unpack_from(buf, pos)
        if length <= _MAX_RECORD and masked_crc32c(buf[pos : pos + 8]) == length_crc:
            return pos
        # A header lying wholly inside a run of zeros is never valid (the CRC of
        # zero bytes is not zero): skip to the first one that reaches past the run.
        nonzero = _NONZERO.search(buf, zeros)
        run_end = nonzero.start() if nonzero else len(buf)
        pos = max(pos + 1, run_end - HEADER_SIZE + 1)
    return None


def read_records(path: str) -> list[bytes]:
    """All complete, intact record payloads of a file (a convenience for tools and tests)."""
    return list(RecordReader(path).read())
