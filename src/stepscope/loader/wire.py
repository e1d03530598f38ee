"""Walking protobuf's wire format without parsing whole messages.

A model graph can be hundreds of megabytes, almost all of it in a few
constants. Parsing such a ``GraphDef`` with protobuf holds all of it in
memory at once, twice. This module walks a message's fields where they lie
(in bytes, or in a region of a file read through a small window), so a
reader can parse each node by itself and skip what it will not show.

Example::

    source = FileSource("events.out.tfevents.1.host", offset, length)
    for field in walk(source, 0, source.size):
        if field.number == 1:  # GraphDef.node
            node = source.read(field.start, field.end - field.start)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = range(6)
_WINDOW = 1 << 16
_MAX_VARINT = 10


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


class Source(Protocol):
    """Bytes that can be read at any position: a message in memory or in a file."""

    size: int

    def read(self, start: int, length: int) -> bytes: ...


class BytesSource:
    """A message held in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def read(self, start: int, length: int) -> bytes:
        return self.data[start : start + length]


class FileSource:
    """``length`` bytes of an open file from ``offset``, read through a small window.

    Small reads (keys, lengths, short strings) are served from a 64 KiB
    window; a large read goes to the file directly, so memory holds at most
    the window and what the caller asked for.
    """

    def __init__(self, file: BinaryIO, offset: int, length: int) -> None:
        self.file = file
        self.offset = offset
        self.size = length
        self._window_start = 0
        self._window = b""

    def read(self, start: int, length: int) -> bytes:
        length = max(0, min(length, self.size - start))
        window_end = self._window_start + len(self._window)
        if self._window_start <= start and start + length <= window_end:
            begin = start - self._window_start
            return self._window[begin : begin + length]
        if length > _WINDOW // 4:
            return self._read_file(start, length)
        self._window_start = start
        self._window = self._read_file(start, min(_WINDOW, self.size - start))
        return self._window[:length]

    def _read_file(self, start: int, length: int) -> bytes:
        self.file.seek(self.offset + start)
        data = self.file.read(length)
        if len(data) != length:
            raise OSError(f"{getattr(self.file, 'name', 'the file')} is shorter than when indexed")
        return data


@dataclass(frozen=True)
class Field:
    """One field of a message: its number and wire type, and where its value lies.

    For a length-delimited field the value is ``[start, end)``; for a varint
    ``value`` holds the number (and ``[start, end)`` its bytes).
    """

    number: int
    wire_type: int
    start: int
    end: int
    value: int = 0


def varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` of ``data`` and the position after it."""
    result = 0
    shift = 0
    for index in range(pos, min(pos + _MAX_VARINT, len(data))):
        byte = data[index]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, index + 1
        shift += 7
    raise WireError(f"a malformed varint at byte {pos}")


def _source_varint(source: Source, pos: int, end: int) -> tuple[int, int]:
    head = source.read(pos, min(_MAX_VARINT, end - pos))
    value, used = varint(head, 0)
    return value, pos + used


def walk(source: Source, start: int, end: int) -> Iterator[Field]:
    """The fields of the message in ``[start, end)`` of ``source``, in order.

    Raises :class:`WireError` where the bytes stop making sense (a field that
    runs past the end, a group, an unknown wire type).
    """
    pos = start
    while pos < end:
        key, pos = _source_varint(source, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {pos}")
        if wire_type == VARINT:
            value, after = _source_varint(source, pos, end)
            yield Field(number, wire_type, pos, after, value)
            pos = after
        elif wire_type == LEN:
            length, value_start = _source_varint(source, pos, end)
            value_end = value_start + length
            if value_end > end:
                raise WireError(f"field {number} at byte {pos} runs past the end of its message")
            yield Field(number, wire_type, value_start, value_end, length)
            pos = value_end
        elif wire_type in (FIXED64, FIXED32):
            width = 8 if wire_type == FIXED64 else 4
            if pos + width > end:
                raise WireError(f"field {number} at byte {pos} runs past the end of its message")
            raw = int.from_bytes(source.read(pos, width), "little")
            yield Field(number, wire_type, pos, pos + width, raw)
            pos += width
        else:
            raise WireError(f"wire type {wire_type} of field {number} at byte {pos}")


def count_fields(source: Source, start: int, end: int, number: int | None = None) -> int:
    """How many fields (of ``number``, or all) the message in ``[start, end)`` has.

    Walking them checks the message's framing: :class:`WireError` if it is not
    well formed.
    """
    return sum(1 for field in walk(source, start, end) if number is None or field.number == number)


def read_field(source: Source, field: Field) -> bytes:
    """The bytes of a length-delimited field's value."""
    return source.read(field.start, field.end - field.start)
