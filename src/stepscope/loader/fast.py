"""Vectorized reading of event files: the path that makes a cold load fast.

Reading one record at a time in Python costs a few microseconds (framing,
two CRCs, protobuf parsing); a logdir of five million scalars would take
half a minute. Almost every record in a real logdir is a plain scalar
written by torch, tensorboardX or stepscope, laid out byte for byte the
same way, so this module handles a whole buffer of records with numpy:

1. :func:`walk` finds the record boundaries. Every event starts with its
   ``wall_time`` field (tag byte ``0x09``), and real lengths are below
   4 GiB, so the candidates are the offsets whose byte 12 is ``0x09`` and
   whose length's high four bytes are zero; the records are the chain of
   candidates that starts at offset 0, each ending where the next begins.
2. :func:`find_damaged` checks every CRC of the buffer at once. CRC-32C is
   affine: a segment followed by its own (unmasked) CRC always hashes to the
   same value for a given length. So the buffer with its CRCs unmasked must
   hash exactly as a zero-filled buffer with the same segment lengths does;
   one comparison of two hashes (at gigabytes per second) checks them all,
   and only a mismatch costs a record-by-record search.
3. :func:`simple_scalars` picks out, column-wise, the records of the form
   ``Event{wall_time, step, summary{value{tag, simple_value}}}`` and decodes
   their step, wall time, value and tag.

Anything else (images, histograms, tensors, metadata, session logs such as
a restart's ``START`` or a ``CHECKPOINT``, corruption, a record that does
not start with ``wall_time``) is left to the record-by-record path, so this
module never has to be complete, only right about what it accepts. A
session log is walked like any event but never taken as a scalar: its field
(``Event.session_log``, tag byte ``0x3A``) is not ``Event.summary``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import google_crc32c
import numpy as np
import numpy.typing as npt

from stepscope.records import FOOTER_SIZE, HEADER_SIZE, masked_crc32c

_WALL_TIME_TAG = 0x09  # Event.wall_time: field 1, 64-bit
_STEP_TAG = 0x10  # Event.step: field 2, varint
_SUMMARY_TAG = 0x2A  # Event.summary: field 5, length-delimited
_VALUE_TAG = 0x0A  # Summary.value: field 1, length-delimited
_NAME_TAG = 0x0A  # Summary.Value.tag: field 1, length-delimited
_SIMPLE_VALUE_TAG = 0x15  # Summary.Value.simple_value: field 2, 32-bit
_MASK_DELTA = np.uint32(0xA282EAD8)
_FRAME = HEADER_SIZE + FOOTER_SIZE
_FOUR = np.arange(4, dtype=np.int64)

Bytes = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Walk:
    """The complete records at the start of a buffer: where each begins and its payload length."""

    starts: Ints
    lengths: Ints

    @property
    def end(self) -> int:
        """Where the walked records end (the buffer's first unwalked byte)."""
        if not len(self.starts):
            return 0
        return int(self.starts[-1] + _FRAME + self.lengths[-1])


def _u32(buf: Bytes, at: Ints) -> npt.NDArray[np.uint32]:
    """Little-endian uint32 at each offset in ``at`` (unaligned)."""
    words: npt.NDArray[np.uint32] = (
        buf[at[:, None] + _FOUR].view("<u4").reshape(-1).astype(np.uint32)
    )
    return words


def walk(buf: Bytes) -> Walk:
    """The chain of records starting at offset 0, as far as candidates reach.

    Stops before a partial record, a damaged header, a record whose payload
    does not start with ``wall_time``, or the end of ``buf``; the caller reads
    from :attr:`Walk.end` record by record.
    """
    size = len(buf)
    empty = Walk(np.zeros(0, np.int64), np.zeros(0, np.int64))
    if size < _FRAME + 1:
        return empty
    starts = np.flatnonzero(buf[HEADER_SIZE:] == _WALL_TIME_TAG).astype(np.int64)
    starts = starts[starts <= size - _FRAME - 1]
    high = buf[starts + 4] | buf[starts + 5] | buf[starts + 6] | buf[starts + 7]
    starts = starts[high == 0]
    if not len(starts) or starts[0] != 0:
        return empty
    lengths = _u32(buf, starts).astype(np.int64)
    ends = starts + _FRAME + lengths
    if np.array_equal(ends[:-1], starts[1:]):
        keep = len(starts) if ends[-1] <= size else len(starts) - 1
        return Walk(starts[:keep], lengths[:keep])
    # Some candidates lie inside payloads (their bytes just look like a
    # header): follow the chain from 0, which only ever lands on real records.
    following = np.searchsorted(starts, ends)
    following[following >= len(starts)] = 0
    linked = (starts[following] == ends) & (following > 0)
    chain = []
    index = 0
    link = linked.tolist()
    after = following.tolist()
    while True:
        chain.append(index)
        if not link[index]:
            break
        index = after[index]
    picked = np.array(chain, dtype=np.int64)
    if ends[picked[-1]] > size:
        picked = picked[:-1]
    return Walk(starts[picked], lengths[picked])


@lru_cache(maxsize=4096)
def _zeros_crc(length: int) -> int:
    """The (unmasked) CRC-32C of ``length`` zero bytes."""
    value: int = google_crc32c.value(bytes(length))
    return value


def _zero_crcs(lengths: Ints) -> npt.NDArray[np.uint32]:
    """The CRC of ``n`` zero bytes for each ``n`` in ``lengths``."""
    largest = int(lengths.max())
    if largest < 1 << 16:
        distinct = np.flatnonzero(np.bincount(lengths))
        table = np.zeros(largest + 1, dtype=np.uint32)
        table[distinct] = [_zeros_crc(int(n)) for n in distinct]
        result: npt.NDArray[np.uint32] = table[lengths]
        return result
    distinct, which = np.unique(lengths, return_inverse=True)
    crcs = np.array([_zeros_crc(int(n)) for n in distinct], dtype=np.uint32)
    result = crcs[which]
    return result


def _put_u32(buf: Bytes, at: Ints, values: npt.NDArray[np.uint32]) -> None:
    buf[at[:, None] + _FOUR] = values.astype("<u4").view(np.uint8).reshape(-1, 4)


def _unmask(masked: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    rotated = masked - _MASK_DELTA
    crc: npt.NDArray[np.uint32] = (rotated << np.uint32(15)) | (rotated >> np.uint32(17))
    return crc


def find_damaged(buf: Bytes, records: Walk) -> npt.NDArray[np.bool_]:
    """Which of the walked records have a wrong length or payload CRC."""
    count = len(records.starts)
    damaged = np.zeros(count, dtype=bool)
    if not count:
        return damaged
    starts, lengths = records.starts, records.lengths
    end = records.end
    length_crcs = starts + 8
    payload_crcs = starts + HEADER_SIZE + lengths
    # CRC-32C is affine, so hash(data) == hash(data with each CRC field
    # replaced by its unmasked value, XOR the zero-filled buffer whose CRC
    # fields hold the CRCs of zero segments) exactly when every record is
    # intact. Only the CRC fields differ between the two buffers, so one
    # sparse buffer holding those differences suffices.
    difference = np.zeros(end, dtype=np.uint8)
    stored = _u32(buf, length_crcs)
    _put_u32(difference, length_crcs, stored ^ _unmask(stored) ^ np.uint32(_zeros_crc(8)))
    stored = _u32(buf, payload_crcs)
    _put_u32(difference, payload_crcs, stored ^ _unmask(stored) ^ _zero_crcs(lengths))
    if google_crc32c.value(buf[:end].tobytes()) == google_crc32c.value(difference.tobytes()):
        return damaged
    # Something is damaged: find what, record by record.
    view = buf[:end].tobytes()
    for i, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
        header = view[start : start + 8]
        payload = view[start + HEADER_SIZE : start + HEADER_SIZE + length]
        stored_length_crc = int.from_bytes(view[start + 8 : start + 12], "little")
        stored_payload_crc = int.from_bytes(
            view[start + HEADER_SIZE + length : start + _FRAME + length], "little"
        )
        damaged[i] = (
            masked_crc32c(header) != stored_length_crc
            or masked_crc32c(payload) != stored_payload_crc
        )
    return damaged


@dataclass(frozen=True)
class SimpleScalars:
    """The plain-scalar records among some walked records, decoded column-wise."""

    which: Ints  # indexes into the walked records
    steps: Ints
    wall_times: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    tag_codes: npt.NDArray[np.int64]  # index into tag_names, one per record
    tag_names: list[str | None]  # None: not valid UTF-8 (protobuf rejects such an event)


def _varints(buf: Bytes, at: Ints) -> tuple[Ints, Ints]:
    """Decode the varint at each offset: ``(value as int64, byte length)``; length 0 if malformed."""
    value = np.zeros(len(at), dtype=np.uint64)
    length = np.zeros(len(at), dtype=np.int64)
    open_ = np.ones(len(at), dtype=bool)
    limit = len(buf)
    for k in range(10):
        inside = open_ & (at + k < limit)
        byte = np.zeros(len(at), dtype=np.uint64)
        byte[inside] = buf[at[inside] + k]
        value |= np.where(open_, (byte & np.uint64(0x7F)) << np.uint64(7 * k), np.uint64(0))
        ends_here = open_ & inside & (byte < 0x80)
        length[ends_here] = k + 1
        open_ &= inside & ~ends_here
        if not open_.any():
            break
    return value.view(np.int64), length


def simple_scalars(buf: Bytes, records: Walk) -> SimpleScalars:
    """Decode the records that are exactly ``{wall_time, step, summary{value{tag, simple_value}}}``.

    Tag names must be at most 118 bytes (so every length in the record is one byte); anything else
    is left out of ``which`` and read the ordinary way.
    """
    payload = records.starts + HEADER_SIZE
    stop = payload + records.lengths
    n = len(payload)
    shortest = 1 + 8 + 6 + 5
    ok = (records.lengths >= shortest) & (buf[payload] == _WALL_TIME_TAG)
    at = payload + 9
    at[~ok] = 0
    has_step = ok & (buf[at] == _STEP_TAG)
    steps = np.zeros(n, dtype=np.int64)
    step_lengths = np.zeros(n, dtype=np.int64)
    if has_step.any():
        decoded, used = _varints(buf, at[has_step] + 1)
        steps[has_step] = decoded
        step_lengths[has_step] = used
        ok[has_step] &= used > 0
    at = at + np.where(has_step, 1 + step_lengths, 0)
    ok &= at + 6 <= stop
    at[~ok] = 0
    outer = buf[at + 1].astype(np.int64)
    inner = buf[at + 3].astype(np.int64)
    name_length = buf[at + 5].astype(np.int64)
    ok &= (
        (buf[at] == _SUMMARY_TAG)
        & (buf[at + 2] == _VALUE_TAG)
        & (buf[at + 4] == _NAME_TAG)
        & (outer < 0x80)
        & (inner == outer - 2)
        & (name_length == inner - 7)
        & (at + 2 + outer == stop)
    )
    at[~ok] = 0
    name_length[~ok] = 0
    value_at = at + 6 + name_length
    ok &= buf[np.minimum(value_at, len(buf) - 1)] == _SIMPLE_VALUE_TAG
    which = np.flatnonzero(ok)
    names_at = at[which] + 6
    name_lengths = name_length[which]
    walls = np.zeros(len(which), dtype=np.float64)
    values = np.zeros(len(which), dtype=np.float32)
    if len(which):
        wall_bytes = buf[payload[which, None] + np.arange(1, 9)]
        walls = wall_bytes.view("<f8").reshape(-1).astype(np.float64)
        value_bytes = buf[value_at[which, None] + np.arange(1, 5)]
        values = value_bytes.view("<f4").reshape(-1)
    try:
        codes, names = _tag_codes(buf, names_at, name_lengths)
    except _HashCollisionError:
        which = which[:0]
        codes, names = np.zeros(0, dtype=np.int64), []
        walls, values = walls[:0], values[:0]
    return SimpleScalars(
        which=which,
        steps=steps[which],
        wall_times=walls,
        values=_widened(values),
        tag_codes=codes,
        tag_names=names,
    )


def _widened(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """float32 to float64, signaling NaNs included (numpy warns on those; they are just NaN here)."""
    with np.errstate(invalid="ignore"):
        wide: npt.NDArray[np.float64] = values.astype(np.float64)
    return wide


def _tag_codes(
    buf: Bytes, at: Ints, lengths: Ints
) -> tuple[npt.NDArray[np.int64], list[str | None]]:
    """A code per record into a list of distinct tag names, in order of first appearance.

    Names are hashed column by column (a polynomial over the bytes, plus the
    length) and the hashes grouped; every row is then compared with its
    group's first row, so a hash collision can never merge two tags.
    """
    count = len(at)
    if not count:
        return np.zeros(0, dtype=np.int64), []
    width = max(8, -(-int(lengths.max()) // 8) * 8)
    columns = np.arange(width, dtype=np.int64)
    names_bytes = buf[np.minimum(at[:, None] + columns, len(buf) - 1)]
    names_bytes[columns >= lengths[:, None]] = 0
    words = names_bytes.view("<u8")
    hashes = lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for k in range(words.shape[1]):
        hashes = (hashes ^ words[:, k]) * np.uint64(0x100000001B3)
    _, first, codes = np.unique(hashes, return_index=True, return_inverse=True)
    # Number tags by first appearance (stable, readable codes).
    order = np.argsort(first, kind="stable")
    renumber = np.empty(len(order), dtype=np.int64)
    renumber[order] = np.arange(len(order))
    codes = renumber[codes.reshape(-1)]
    firsts = first[order]
    if not np.array_equal(words, words[firsts][codes]):
        raise _HashCollisionError
    names = [
        _decoded(bytes(buf[start : start + length]))
        for start, length in zip(at[firsts].tolist(), lengths[firsts].tolist(), strict=True)
    ]
    return codes.astype(np.int64), names


def _decoded(name: bytes) -> str | None:
    try:
        return name.decode("utf-8")
    except UnicodeDecodeError:
        return None


class _HashCollisionError(Exception):
    """Two different tag names hashed alike (astronomically rare): read them one by one."""
