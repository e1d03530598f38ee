"""Serializing events to protobuf wire bytes, with a fast path for scalars.

A legacy scalar event (``Summary.Value.simple_value``) is 40-odd bytes whose
layout only depends on the tag, so its bytes are assembled from a cached
per-tag prefix instead of building three protobuf messages per call. The
output is byte-for-byte what protobuf's own serializer produces for the same
``Event`` (the tests check this), so every reader sees a normal event.

Wire layout of ``Event`` used here (field numbers from the reference)::

    0x09 <double wall_time>            field 1, fixed64
    0x10 <varint step>                 field 2, omitted when 0 (proto3)
    0x2a <varint len> <Summary bytes>  field 5
"""

from __future__ import annotations

import math
import struct
from typing import Any

from stepscope.proto import event_pb2, summary_pb2

_WALL_TIME = struct.Struct("<Bd")
_FLOAT32 = struct.Struct("<f")
_TAG_EVENT_WALL_TIME = 0x09
_TAG_EVENT_SUMMARY = b"\x2a"
_TAG_EVENT_STEP = b"\x10"
_TAG_LEN_FIELD_1 = b"\x0a"  # Summary.value and Summary.Value.tag are both field 1, LEN
_TAG_SIMPLE_VALUE = b"\x15"  # Summary.Value.simple_value: field 2, fixed32


def varint(n: int) -> bytes:
    """Protobuf base-128 varint of an int64 (negative numbers take 10 bytes)."""
    if n < 0:
        n += 1 << 64
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def float32_bytes(value: float) -> bytes:
    """``value`` as a little-endian float32; out-of-range finite values become ±inf.

    That is what a protobuf ``float`` field does with a double that does not
    fit, so huge losses are written faithfully as infinities, not rejected.
    """
    try:
        return _FLOAT32.pack(value)
    except OverflowError:
        return _FLOAT32.pack(math.copysign(math.inf, value))


def _wall_time_field(wall_time: float) -> bytes:
    # proto3 leaves out a field equal to its default (+0.0; -0.0 is written).
    if wall_time == 0.0 and math.copysign(1.0, wall_time) > 0:
        return b""
    return _WALL_TIME.pack(_TAG_EVENT_WALL_TIME, wall_time)


def event_head(wall_time: float, step: int) -> bytes:
    """The bytes of ``Event`` fields 1 and 2."""
    head = _wall_time_field(wall_time)
    if step:
        head += _TAG_EVENT_STEP + varint(step)
    return head


def summary_event(summary: Any, step: int, wall_time: float) -> bytes:
    """A serialized ``Event`` carrying ``summary`` (ours or any wire-compatible ``Summary``)."""
    body: bytes = summary.SerializeToString()
    return event_head(wall_time, step) + _TAG_EVENT_SUMMARY + varint(len(body)) + body


def values_event(values: list[summary_pb2.Summary.Value], step: int, wall_time: float) -> bytes:
    """A serialized ``Event`` whose summary holds ``values``."""
    return summary_event(summary_pb2.Summary(value=values), step, wall_time)


def message_event(event: event_pb2.Event) -> bytes:
    """A serialized ``Event`` built by the caller (file version, session log...)."""
    return event.SerializeToString()


class ScalarEventEncoder:
    """Serializes legacy scalar events without going through protobuf objects."""

    def __init__(self) -> None:
        self._prefixes: dict[str, bytes] = {}
        self._last_step = 0
        self._last_step_bytes = b""

    def prefix(self, tag: str) -> bytes:
        """Everything from the ``summary`` field's tag up to the float value."""
        prefix = self._prefixes.get(tag)
        if prefix is None:
            tag_bytes = tag.encode("utf-8")
            # proto3 leaves out an empty string field.
            tag_field = _TAG_LEN_FIELD_1 + varint(len(tag_bytes)) + tag_bytes if tag_bytes else b""
            value_msg = tag_field + _TAG_SIMPLE_VALUE
            value_len = len(value_msg) + 4
            summary_len = 1 + len(varint(value_len)) + value_len
            prefix = (
                _TAG_EVENT_SUMMARY
                + varint(summary_len)
                + _TAG_LEN_FIELD_1
                + varint(value_len)
                + value_msg
            )
            self._prefixes[tag] = prefix
        return prefix

    def encode(self, tag: str, value: float, step: int, wall_time: float) -> bytes:
        """The serialized ``Event`` for one ``add_scalar`` call."""
        if step != self._last_step:
            # Loops log many tags per step: reuse the step's varint.
            self._last_step = step
            self._last_step_bytes = _TAG_EVENT_STEP + varint(step) if step else b""
        elif not step:
            self._last_step_bytes = b""
        prefix = self._prefixes.get(tag) or self.prefix(tag)
        try:
            value_bytes = _FLOAT32.pack(value)
        except OverflowError:
            value_bytes = float32_bytes(value)
        if wall_time:
            wall = _WALL_TIME.pack(_TAG_EVENT_WALL_TIME, wall_time)
        else:
            wall = _wall_time_field(wall_time)
        return wall + self._last_step_bytes + prefix + value_bytes
