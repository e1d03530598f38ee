"""The vectorized loader path (``stepscope.loader.fast``) against plain protobuf parsing.

Every test builds an event file record by record with :func:`frame_record`,
reads it with :func:`parse_run` (the vectorized walk / CRC check / scalar
decoding with its record-by-record fallback) and compares the result with a
reference built by decoding every record with ``event_pb2.Event.FromString``:
scalar rows in file order, ``SessionLog START`` at step S dropping the
earlier rows at step S or later, tags with the metadata of their first
occurrence. Floats are compared bit for bit (so ``-0.0`` is not ``0.0``),
except that any NaN equals any NaN.
"""

from __future__ import annotations

import itertools
import math
import os
import struct
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepscope.loader import chunk as chunk_module
from stepscope.loader import fast
from stepscope.loader.chunk import FileState, RunChunk, parse_run
from stepscope.loader.model import TagInfo
from stepscope.proto import event_pb2, summary_pb2, tensor_pb2
from stepscope.records import FOOTER_SIZE, HEADER_SIZE, RecordReader, frame_record

# Tags of the non-scalar kinds start with NUL, which no generated scalar tag
# does, so that every tag keeps one kind (its plugin comes from its first use).
NON_SCALAR = "\x00"
START = event_pb2.SessionLog.START

Row = tuple[str, int, str, str]  # tag, step, wall time and value as float.hex() (or "nan")


def fkey(x: float) -> str:
    """A float as a comparable key: bit-exact (``-0.0`` differs from ``0.0``), any NaN alike."""
    return "nan" if math.isnan(x) else float(x).hex()


def row(tag: str, step: int, wall: float, value: float) -> Row:
    return (tag, int(step), fkey(wall), fkey(value))


# -- building events ---------------------------------------------------------------


def scalar_event(tag: str, step: int, wall: float, value: float, **extra: object) -> bytes:
    value_proto = summary_pb2.Summary.Value(tag=tag, simple_value=value)
    if "metadata" in extra:
        value_proto.metadata.CopyFrom(extra.pop("metadata"))  # type: ignore[arg-type]
    event = event_pb2.Event(
        wall_time=wall, step=step, summary=summary_pb2.Summary(value=[value_proto])
    )
    if "writer" in extra:
        event.source_metadata.writer = str(extra.pop("writer"))
    assert not extra
    return event.SerializeToString()


def histogram_event(tag: str, step: int, wall: float) -> bytes:
    histo = summary_pb2.HistogramProto(
        min=-1.0, max=2.0, num=3, sum=1.0, sum_squares=5.0, bucket_limit=[0.0, 1.0, 2.0]
    )
    histo.bucket.extend([1.0, 0.0, 2.0])
    value = summary_pb2.Summary.Value(tag=NON_SCALAR + "h/" + tag, histo=histo)
    return event_pb2.Event(
        wall_time=wall, step=step, summary=summary_pb2.Summary(value=[value])
    ).SerializeToString()


def plugin_tensor_event(tag: str, step: int, wall: float) -> bytes:
    """A tensor summary of a plugin stepscope does not know, with metadata."""
    tensor = tensor_pb2.TensorProto(
        dtype=tensor_pb2.DataType.DT_INT32,
        tensor_shape=tensor_pb2.TensorShapeProto(dim=[tensor_pb2.TensorShapeProto.Dim(size=2)]),
        tensor_content=np.array([step % 1000, 7], dtype="<i4").tobytes(),
    )
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="my_plugin", content=b"v1"),
        display_name="shown",
        summary_description="a test plugin",
        data_class=summary_pb2.DataClass.DATA_CLASS_TENSOR,
    )
    value = summary_pb2.Summary.Value(tag=NON_SCALAR + "p/" + tag, metadata=metadata, tensor=tensor)
    return event_pb2.Event(
        wall_time=wall, step=step, summary=summary_pb2.Summary(value=[value])
    ).SerializeToString()


def tensor_scalar_event(tag: str, step: int, wall: float, value: float) -> bytes:
    """A TF2-style scalar: a rank-0 float tensor of plugin ``scalars``."""
    tensor = tensor_pb2.TensorProto(
        dtype=tensor_pb2.DataType.DT_FLOAT, tensor_shape=tensor_pb2.TensorShapeProto()
    )
    tensor.float_val.append(value)
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DataClass.DATA_CLASS_SCALAR,
    )
    value_proto = summary_pb2.Summary.Value(
        tag=NON_SCALAR + "s/" + tag, metadata=metadata, tensor=tensor
    )
    return event_pb2.Event(
        wall_time=wall, step=step, summary=summary_pb2.Summary(value=[value_proto])
    ).SerializeToString()


def two_scalars_event(tags: tuple[str, str], step: int, wall: float, value: float) -> bytes:
    """A legacy TF summary holding two simple values in one event."""
    values = [
        summary_pb2.Summary.Value(tag=tags[0], simple_value=value),
        summary_pb2.Summary.Value(tag=tags[1], simple_value=-value),
    ]
    return event_pb2.Event(
        wall_time=wall, step=step, summary=summary_pb2.Summary(value=values)
    ).SerializeToString()


def start_event(step: int, wall: float) -> bytes:
    return event_pb2.Event(
        wall_time=wall, step=step, session_log=event_pb2.SessionLog(status=START)
    ).SerializeToString()


def file_version_event(wall: float) -> bytes:
    return event_pb2.Event(wall_time=wall, file_version="brain.Event:2").SerializeToString()


def frame_all(payloads: list[bytes]) -> tuple[bytes, list[int]]:
    """The framed file and the offset where each record starts (plus the end)."""
    offsets = [0]
    parts = []
    for payload in payloads:
        framed = frame_record(payload)
        parts.append(framed)
        offsets.append(offsets[-1] + len(framed))
    return b"".join(parts), offsets


# -- the reference: every record through protobuf ------------------------------------


@dataclass
class Reference:
    rows: list[Row] = field(default_factory=list)
    tensors: list[tuple[str, int, str]] = field(default_factory=list)  # tag, step, wall
    purges: list[int] = field(default_factory=list)
    tags: dict[str, TagInfo] = field(default_factory=dict)
    not_events: int = 0


_LEGACY = {"simple_value": "scalars", "histo": "histograms"}


def reference(payloads: list[bytes]) -> Reference:
    ref = Reference()
    for payload in payloads:
        try:
            event = event_pb2.Event.FromString(payload)
        except DecodeError:
            ref.not_events += 1
            continue
        kind = event.WhichOneof("what")
        if kind == "session_log" and event.session_log.status == START:
            ref.purges.append(event.step)
            ref.rows = [r for r in ref.rows if r[1] < event.step]
            ref.tensors = [t for t in ref.tensors if t[1] < event.step]
            continue
        if kind != "summary":
            continue
        for value in event.summary.value:
            which = value.WhichOneof("value") or ""
            if value.tag not in ref.tags:
                meta = value.metadata
                ref.tags[value.tag] = TagInfo(
                    plugin_name=meta.plugin_data.plugin_name or _LEGACY.get(which, ""),
                    content=meta.plugin_data.content,
                    data_class=int(meta.data_class),
                    display_name=meta.display_name,
                    description=meta.summary_description,
                )
            plugin = ref.tags[value.tag].plugin_name
            if which == "simple_value":
                ref.rows.append(row(value.tag, event.step, event.wall_time, value.simple_value))
            elif which == "tensor" and plugin == "scalars":
                [number] = value.tensor.float_val
                ref.rows.append(row(value.tag, event.step, event.wall_time, number))
            elif which in ("tensor", "histo"):
                ref.tensors.append((value.tag, event.step, fkey(event.wall_time)))
    return ref


def chunk_rows(chunk: RunChunk) -> list[Row]:
    assert np.all(np.diff(chunk.scalar_seq) > 0), "rows are not in file order"
    return [
        row(chunk.scalar_tags[code], step, wall, value)
        for code, step, wall, value in zip(
            chunk.scalar_tag.tolist(),
            chunk.steps.tolist(),
            chunk.wall_times.tolist(),
            chunk.values.tolist(),
            strict=True,
        )
    ]


def chunk_tensors(chunk: RunChunk) -> list[tuple[str, int, str]]:
    return [(tag, step, fkey(wall)) for _, tag, step, wall, _ in chunk.tensors]


def is_subsequence(small: list[Row], big: list[Row]) -> bool:
    it = iter(big)
    return all(any(item == other for other in it) for item in small)


@contextmanager
def reading_limits(window: int | None, slow_step: int | None) -> Iterator[None]:
    """Smaller read windows and fallback stretches, to cross every boundary."""
    with (
        mock.patch.object(chunk_module, "WINDOW", window or chunk_module.WINDOW),
        mock.patch.object(chunk_module, "_SLOW_STEP", slow_step or chunk_module._SLOW_STEP),
    ):
        yield


# -- strategies ------------------------------------------------------------------------

FLOAT32_SPECIALS = [
    math.nan,
    -math.nan,
    math.inf,
    -math.inf,
    0.0,
    -0.0,
    struct.unpack("<f", struct.pack("<I", 1))[0],  # the smallest subnormal
    -struct.unpack("<f", struct.pack("<I", 0x007FFFFF))[0],  # the largest subnormal
    struct.unpack("<f", struct.pack("<I", 0x7FC00001))[0],  # NaN with a payload
    3.4028234663852886e38,
]

tags = st.one_of(
    st.text(max_size=16),
    st.text(st.characters(codec="ascii"), min_size=1, max_size=16),
    # Any unicode, cut to at most 130 UTF-8 bytes on a character boundary.
    st.text(max_size=130).map(lambda t: t.encode()[:130].decode("utf-8", "ignore")),
    # Exact byte lengths around the single-byte length limits of the fast path.
    st.integers(0, 130).map(lambda n: "t" * n),
    st.integers(55, 65).map(lambda n: "é" * n),
    st.just(""),
).filter(lambda t: not t.startswith(NON_SCALAR))

steps = st.one_of(
    st.just(0),
    st.integers(0, 300),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([-1, -(2**63), 2**63 - 1, 127, 128, 2**31, 2**32, 2**53 + 1]),
)
values = st.one_of(st.floats(width=32), st.sampled_from(FLOAT32_SPECIALS))
walls = st.one_of(
    st.just(0.0),
    st.just(-0.0),
    st.floats(0.0, 2e9),
    st.floats(),  # NaN, infinities, subnormals, negative
)

SCALAR_KINDS = ["scalar"] * 20
OTHER_KINDS = [
    "scalar_with_metadata",
    "scalar_with_writer",
    "two_scalars",
    "file_version",
    "histogram",
    "plugin_tensor",
    "tensor_scalar",
    "empty",
    "start",
]


@st.composite
def event_lists(draw: st.DrawFn, kinds: list[str] | None = None, max_size: int = 60) -> list[bytes]:
    pool = draw(st.lists(tags, min_size=1, max_size=4, unique=True))
    chosen = kinds if kinds is not None else SCALAR_KINDS + OTHER_KINDS
    count = draw(st.integers(0, max_size))
    payloads = []
    for _ in range(count):
        kind = draw(st.sampled_from(chosen))
        tag = draw(st.sampled_from(pool))
        # Mostly ordinary steps and wall times (what the vectorized path takes),
        # sometimes the edge cases (a wall time of 0.0 is not written at all).
        step = draw(steps if draw(st.integers(0, 9)) == 0 else st.integers(1, 10**6))
        wall = draw(walls if draw(st.integers(0, 9)) == 0 else st.floats(1.0, 2e9))
        if kind == "scalar":
            payloads.append(scalar_event(tag, step, wall, draw(values)))
        elif kind == "scalar_with_metadata":
            metadata = summary_pb2.SummaryMetadata(
                display_name="Loss",
                plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
            )
            payloads.append(scalar_event(tag, step, wall, draw(values), metadata=metadata))
        elif kind == "scalar_with_writer":
            payloads.append(scalar_event(tag, step, wall, draw(values), writer="w"))
        elif kind == "two_scalars":
            other = draw(st.sampled_from(pool))
            payloads.append(two_scalars_event((tag, other), step, wall, draw(values)))
        elif kind == "file_version":
            payloads.append(file_version_event(wall))
        elif kind == "histogram":
            payloads.append(histogram_event(tag, step, wall))
        elif kind == "plugin_tensor":
            payloads.append(plugin_tensor_event(tag, step, wall))
        elif kind == "tensor_scalar":
            payloads.append(tensor_scalar_event(tag, step, wall, draw(values)))
        elif kind == "empty":
            payloads.append(event_pb2.Event(wall_time=wall).SerializeToString())
        else:
            payloads.append(start_event(step, wall))
    return payloads


limits = st.tuples(st.sampled_from([None, None, 17, 100, 1000]), st.sampled_from([None, 1, 1, 3]))

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def fresh_file(data: bytes) -> Iterator[str]:
    """An event file holding ``data`` in a fresh directory (Hypothesis runs many examples)."""
    with tempfile.TemporaryDirectory(prefix="stepscope-fast-") as directory:
        path = os.path.join(directory, "events.out.tfevents.1.test")
        with open(path, "wb") as f:
            f.write(data)
        yield path


def assert_matches(chunk: RunChunk, ref: Reference) -> None:
    assert chunk_rows(chunk) == ref.rows
    assert chunk_tensors(chunk) == ref.tensors
    assert [step for _, step in chunk.purges] == ref.purges


# -- whole files -------------------------------------------------------------------------


@SETTINGS
@given(payloads=event_lists(), limit=limits)
def test_parse_run_agrees_with_protobuf(payloads: list[bytes], limit: tuple[int, int]) -> None:
    data, _ = frame_all(payloads)
    ref = reference(payloads)
    with fresh_file(data) as path:
        with reading_limits(*limit):
            chunk = parse_run("run", [FileState(path)])
        assert_matches(chunk, ref)
        assert chunk.tags == ref.tags
        assert chunk.events == len(payloads)
        assert chunk.problems == []
        [state] = chunk.files
        assert (state.offset, state.corrupt_records, state.reported) == (len(data), 0, False)


@settings(SETTINGS, max_examples=60)
@given(payloads=event_lists(kinds=["scalar"], max_size=150), limit=limits)
def test_plain_scalar_files_agree_with_protobuf(
    payloads: list[bytes], limit: tuple[int, int]
) -> None:
    """Files of nothing but plain scalars: the vectorized path takes (almost) all of them."""
    data, _ = frame_all(payloads)
    ref = reference(payloads)
    with fresh_file(data) as path:
        with reading_limits(*limit):
            chunk = parse_run("run", [FileState(path)])
        assert chunk_rows(chunk) == ref.rows
        assert chunk.tags == ref.tags
        assert chunk.problems == []


@SETTINGS
@given(payloads=event_lists(), cut=st.integers(0, 1 << 16), limit=limits)
def test_partial_tail_then_the_rest(
    payloads: list[bytes], cut: int, limit: tuple[int, int]
) -> None:
    data, offsets = frame_all(payloads)
    at = cut % (len(data) + 1)  # any byte of the file, its very start and end included
    complete = max(i for i, offset in enumerate(offsets) if offset <= at)
    with fresh_file(data[:at]) as path:
        with reading_limits(*limit):
            first = parse_run("run", [FileState(path)])
        # Only the complete records; the offset waits at the start of the partial one.
        assert_matches(first, reference(payloads[:complete]))
        assert first.problems == []
        assert first.files[0].offset == offsets[complete]
        assert first.files[0].corrupt_records == 0
        with open(path, "ab") as f:
            f.write(data[at:])
        with reading_limits(*limit):
            second = parse_run("run", first.files, first.tags)
        # Exactly the rest: its rows (with its own restarts applied) and its restarts.
        assert_matches(second, reference(payloads[complete:]))
        assert second.problems == []
        assert second.files[0].offset == len(data)
        assert second.events == len(payloads) - complete
        assert first.events + second.events == len(payloads)
        # Together, with the second part's restarts applied to the first, they are the whole file.
        whole = reference(payloads)
        combined = chunk_rows(first)
        for _, step in second.purges:
            combined = [r for r in combined if r[1] < step]
        assert combined + chunk_rows(second) == whole.rows
        assert {**first.tags, **second.tags} == whole.tags
        assert not set(first.tags) & set(second.tags)


def record_spans(offsets: list[int]) -> list[tuple[int, int]]:
    return list(itertools.pairwise(offsets))


def check_problems(chunk: RunChunk, path: str) -> None:
    """At most one problem for the file, naming it, on one line."""
    assert len(chunk.problems) <= 1
    for problem_path, message in chunk.problems:
        assert problem_path == path
        assert path in message
        assert "\n" not in message


@st.composite
def damaged_files(
    draw: st.DrawFn, spare_lengths: bool, kinds: list[str] | None = None
) -> tuple[list[bytes], bytes, list[int], set[int]]:
    """Events, the damaged file, the record offsets, and the damaged byte offsets.

    With ``spare_lengths``, the 8 length bytes of each header are left alone
    (so the framing stays intact and every untouched record must be read).
    """
    payloads = draw(event_lists(kinds=kinds).filter(bool))
    data, offsets = frame_all(payloads)
    candidates = [
        position
        for start, end in record_spans(offsets)
        for position in range(start + (8 if spare_lengths else 0), end)
    ]
    flips = draw(
        st.lists(
            st.tuples(st.sampled_from(candidates), st.integers(1, 255)),
            min_size=1,
            max_size=3,
            unique_by=lambda flip: flip[0],
        )
    )
    damaged = bytearray(data)
    for position, mask in flips:
        damaged[position] ^= mask
    return payloads, bytes(damaged), offsets, {position for position, _ in flips}


@SETTINGS
@given(case=damaged_files(spare_lengths=True), limit=limits)
def test_damage_outside_length_fields_loses_only_the_damaged_records(
    case: tuple[list[bytes], bytes, list[int], set[int]], limit: tuple[int, int]
) -> None:
    payloads, data, offsets, flipped = case
    spans = record_spans(offsets)
    touched = {i for i, (start, end) in enumerate(spans) if any(start <= p < end for p in flipped)}
    intact = [payload for i, payload in enumerate(payloads) if i not in touched]
    with fresh_file(data) as path:
        with reading_limits(*limit):
            chunk = parse_run("run", [FileState(path)])  # never raises
        assert_matches(chunk, reference(intact))
        [state] = chunk.files
        assert 1 <= state.corrupt_records <= len(touched)
        assert len(chunk.problems) == 1
        check_problems(chunk, path)
        assert chunk.events == len(intact)


@SETTINGS
@given(
    case=damaged_files(
        spare_lengths=False, kinds=SCALAR_KINDS + [k for k in OTHER_KINDS if k != "start"]
    ),
    limit=limits,
)
def test_damage_anywhere_never_invents_or_reorders_rows(
    case: tuple[list[bytes], bytes, list[int], set[int]], limit: tuple[int, int]
) -> None:
    """A flipped length byte may hide the records after it until the reader resyncs.

    No restarts here, so that each returned row can be looked up in the reference.
    """
    payloads, data, offsets, flipped = case
    spans = record_spans(offsets)
    first_damage = min(flipped)
    before = [
        payload
        for (start, end), payload in zip(spans, payloads, strict=True)
        if end <= first_damage
    ]
    untouched = [
        payload
        for (start, end), payload in zip(spans, payloads, strict=True)
        if not any(start <= p < end for p in flipped)
    ]
    with fresh_file(data) as path:
        with reading_limits(*limit):
            chunk = parse_run("run", [FileState(path)])  # never raises
        rows = chunk_rows(chunk)
        expected_before = reference(before).rows
        assert rows[: len(expected_before)] == expected_before
        assert is_subsequence(rows, reference(untouched).rows)
        [state] = chunk.files
        assert state.corrupt_records >= 1 or chunk.problems
        assert chunk.problems
        check_problems(chunk, path)
        assert state.offset <= len(data)


# -- deterministic cases -------------------------------------------------------------------


def write(directory: Path, payloads: list[bytes]) -> str:
    path = directory / "events.out.tfevents.1.host"
    path.write_bytes(frame_all(payloads)[0])
    return str(path)


@pytest.mark.parametrize("name_bytes", [0, 1, 116, 117, 118, 119, 120, 121, 122, 127, 128, 130])
def test_tag_lengths_around_the_single_byte_limit(tmp_path: Path, name_bytes: int) -> None:
    payloads = [
        scalar_event("x" * name_bytes, step, 100.0 + step, step / 3) for step in range(1, 6)
    ]
    chunk = parse_run("run", [FileState(write(tmp_path, payloads))])
    assert chunk_rows(chunk) == reference(payloads).rows
    assert chunk.scalar_tags == ["x" * name_bytes]


@pytest.mark.parametrize("step", [0, 1, 127, 128, 2**63 - 1, -1, -(2**63), 2**35 + 3, -(2**40)])
def test_steps_of_every_varint_length(tmp_path: Path, step: int) -> None:
    payloads = [scalar_event("loss", step, 1.5, 2.5), scalar_event("loss", step, 2.5, -0.0)]
    chunk = parse_run("run", [FileState(write(tmp_path, payloads))])
    assert chunk.steps.tolist() == [step, step]
    assert chunk_rows(chunk) == reference(payloads).rows


def test_restart_at_step_zero_keeps_only_negative_steps(tmp_path: Path) -> None:
    payloads = [
        scalar_event("loss", -5, 1.0, 1.0),
        scalar_event("loss", 0, 2.0, 2.0),
        scalar_event("loss", 7, 3.0, 3.0),
        start_event(0, 4.0),
        scalar_event("loss", 1, 5.0, 4.0),
    ]
    chunk = parse_run("run", [FileState(write(tmp_path, payloads))])
    assert [(r[1], float.fromhex(r[3])) for r in chunk_rows(chunk)] == [(-5, 1.0), (1, 4.0)]
    assert chunk_rows(chunk) == reference(payloads).rows


def test_invalid_utf8_tag_is_read_alike_by_both_paths(tmp_path: Path) -> None:
    """A plain scalar whose tag is not UTF-8 is not an event to protobuf.

    The vectorized path must not accept what protobuf rejects: the same
    record read first in a file (vectorized) and after a record the
    vectorized walk cannot start with (record by record) must give the same.
    """
    name = b"\xff\xfe"
    value = b"\x0a" + bytes([len(name)]) + name + b"\x15" + struct.pack("<f", 1.0)
    summary = b"\x0a" + bytes([len(value)]) + value
    payload = (
        b"\x09" + struct.pack("<d", 5.0) + b"\x10\x01" + b"\x2a" + bytes([len(summary)]) + summary
    )
    with pytest.raises(DecodeError):
        event_pb2.Event.FromString(payload)
    first = tmp_path / "first"
    first.mkdir()
    after = tmp_path / "after"
    after.mkdir()
    vectorized = parse_run("run", [FileState(write(first, [payload]))])
    by_record = parse_run("run", [FileState(write(after, [file_version_event(0.0), payload]))])
    assert chunk_rows(by_record) == []
    assert chunk_rows(vectorized) == chunk_rows(by_record)
    assert vectorized.tags == by_record.tags == {}


def test_signaling_nan_value_is_read_without_a_warning(tmp_path: Path) -> None:
    """A float32 signaling NaN is a valid ``simple_value`` (protobuf reads it as NaN).

    Reading it must neither warn nor, where warnings are errors, raise.
    """
    name = b"loss"
    value = b"\x0a" + bytes([len(name)]) + name + b"\x15" + struct.pack("<I", 0x7F800001)
    summary = b"\x0a" + bytes([len(value)]) + value
    payload = (
        b"\x09" + struct.pack("<d", 5.0) + b"\x10\x01" + b"\x2a" + bytes([len(summary)]) + summary
    )
    assert math.isnan(event_pb2.Event.FromString(payload).summary.value[0].simple_value)
    path = write(tmp_path, [payload, payload])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chunk = parse_run("run", [FileState(path)])
    assert [str(w.message) for w in caught] == []
    assert chunk_rows(chunk) == reference([payload, payload]).rows
    assert chunk.problems == []


def test_damaged_record_does_not_invent_a_tag(tmp_path: Path) -> None:
    """A CRC-damaged record is skipped; the (damaged) tag name in it must not become a tag."""
    payloads = [scalar_event("loss", 1, 1.0, 1.0), scalar_event("loss", 2, 2.0, 2.0)]
    path = write(tmp_path, payloads)
    data = bytearray(Path(path).read_bytes())
    second = len(frame_record(payloads[0]))
    at = data.index(b"loss", second)
    data[at] ^= 0x01  # "loss" -> "moss" inside the second record's payload
    Path(path).write_bytes(bytes(data))
    chunk = parse_run("run", [FileState(path)])
    assert chunk_rows(chunk) == reference(payloads[:1]).rows
    assert chunk.files[0].corrupt_records == 1
    assert set(chunk.tags) == {"loss"}


@pytest.mark.parametrize(("byte", "mask"), [(0, 0x02), (1, 0x01), (2, 0x01), (3, 0x01)])
def test_damaged_length_field_loses_only_that_record(tmp_path: Path, byte: int, mask: int) -> None:
    """A changed length byte fails the header CRC: that record is lost, the next ones are not.

    The record-by-record reader resyncs on the next valid header and so reads
    every other record; the vectorized path must not do worse by trusting
    the damaged length and skipping the intact records it spans.
    """
    payloads = [scalar_event("loss", step, 1.0 + step, float(step)) for step in range(200)]
    data, offsets = frame_all(payloads)
    damaged = bytearray(data)
    damaged[offsets[5] + byte] ^= mask
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(bytes(damaged))
    by_record = reference(list(RecordReader(str(path)).read()))
    expected = reference(payloads[:5] + payloads[6:])
    assert by_record.rows == expected.rows
    chunk = parse_run("run", [FileState(str(path))])
    assert chunk_rows(chunk) == expected.rows
    assert chunk.files[0].corrupt_records == 1
    check_problems(chunk, str(path))


def test_window_of_only_non_scalar_records_then_scalars(tmp_path: Path) -> None:
    """More records than one fallback stretch, then plain scalars: all read, in order."""
    payloads = [file_version_event(0.0)]
    payloads += [histogram_event("w", step, 1.0) for step in range(600)]
    payloads += [scalar_event("loss", step, 2.0 + step, float(step)) for step in range(600)]
    chunk = parse_run("run", [FileState(write(tmp_path, payloads))])
    ref = reference(payloads)
    assert_matches(chunk, ref)
    assert len(chunk.steps) == 600
    assert chunk.tags == ref.tags


# -- fast.walk and fast.find_damaged on hand-built buffers --------------------------------


def as_buffer(data: bytes | bytearray) -> fast.Bytes:
    return np.frombuffer(bytes(data), dtype=np.uint8)


def fake_payload(size: int, fill: int = 0x55) -> bytes:
    """A payload that starts like an event (``wall_time``) and is ``size`` bytes long."""
    assert size >= 9
    return b"\x09" + struct.pack("<d", 1.0) + bytes([fill]) * (size - 9)


def test_walk_of_short_and_empty_buffers() -> None:
    for data in [b"", b"\x09", bytes(16)]:
        walked = fast.walk(as_buffer(data))
        assert len(walked.starts) == 0
        assert walked.end == 0


def test_walk_finds_every_record_of_a_clean_buffer() -> None:
    payloads = [scalar_event("loss", step, 1.0 + step, 0.5) for step in range(10)]
    data, offsets = frame_all(payloads)
    walked = fast.walk(as_buffer(data))
    assert walked.starts.tolist() == offsets[:-1]
    assert walked.lengths.tolist() == [len(p) for p in payloads]
    assert walked.end == len(data)


def test_walk_stops_before_a_partial_record() -> None:
    payloads = [scalar_event("loss", step, 1.0 + step, 0.5) for step in range(3)]
    data, offsets = frame_all(payloads)
    for cut in range(offsets[2], len(data)):
        walked = fast.walk(as_buffer(data[:cut]))
        assert walked.starts.tolist() == offsets[:2]
        assert walked.end == offsets[2]


def test_walk_ignores_header_lookalikes_inside_payloads() -> None:
    """A tag holding bytes shaped like a header (zero high length bytes, 0x09 twelve bytes on).

    The lookalike's own length even points exactly at the next real record,
    so it is a link in a chain that does not start at offset 0.
    """
    name_length = 20
    # Where the lookalike sits: 12 (header) + 17 (wall time, step, summary and value tags).
    lookalike = HEADER_SIZE + 17
    next_record = HEADER_SIZE + 17 + name_length + 5 + FOOTER_SIZE
    fake_length = next_record - lookalike - HEADER_SIZE - FOOTER_SIZE
    tag = (
        struct.pack("<I", fake_length).decode("ascii")
        + "\x00" * 4
        + "ABCD"
        + "\t"
        + "x" * (name_length - 13)
    )
    payloads = [scalar_event(tag, 1, 1.0, 1.0)] + [
        scalar_event(tag, step, 1.0, 2.0) for step in range(2, 6)
    ]
    data, offsets = frame_all(payloads)
    assert offsets[1] == next_record
    buf = as_buffer(data)
    candidate = (buf[lookalike + HEADER_SIZE] == 0x09) and not buf[
        lookalike + 4 : lookalike + 8
    ].any()
    assert candidate  # the lookalike really looks like a header
    walked = fast.walk(buf)
    assert walked.starts.tolist() == offsets[:-1]
    assert walked.end == len(data)
    assert not fast.find_damaged(buf, walked).any()


def test_walk_stops_at_a_record_not_starting_with_wall_time() -> None:
    payloads = [
        scalar_event("loss", 1, 1.0, 1.0),
        scalar_event("loss", 2, 0.0, 1.0),  # wall time 0.0 is not written: starts with the step
        scalar_event("loss", 3, 3.0, 1.0),
    ]
    data, offsets = frame_all(payloads)
    walked = fast.walk(as_buffer(data))
    assert walked.starts.tolist() == [0]
    assert walked.end == offsets[1]
    # A first record without wall_time: nothing is walked at all.
    walked = fast.walk(as_buffer(data[offsets[1] :]))
    assert len(walked.starts) == 0


def test_walk_stops_at_a_length_with_high_bytes_set() -> None:
    payloads = [fake_payload(30), fake_payload(40), fake_payload(50)]
    data, offsets = frame_all(payloads)
    damaged = bytearray(data)
    damaged[offsets[1] + 5] = 0x01  # the length of record 1 is now above 4 GiB
    walked = fast.walk(as_buffer(damaged))
    assert walked.starts.tolist() == [0]
    assert walked.end == offsets[1]


def test_find_damaged_clean_buffer_is_clean() -> None:
    payloads = [fake_payload(n) for n in (9, 10, 100, 70_000, 9, 65_536, 12)]
    data, offsets = frame_all(payloads)
    buf = as_buffer(data)
    walked = fast.walk(buf)
    assert walked.starts.tolist() == offsets[:-1]
    assert fast.find_damaged(buf, walked).tolist() == [False] * len(payloads)


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize(
    ("record", "where"),
    [
        (0, 8),  # the length's CRC
        (0, 11),
        (1, HEADER_SIZE),  # the first payload byte
        (2, HEADER_SIZE + 20),  # inside the payload
        (3, -1),  # the payload's CRC (from the end of the record)
        (3, -4),
        (4, -5),  # the last payload byte
    ],
)
def test_find_damaged_names_exactly_the_damaged_record(big: bool, record: int, where: int) -> None:
    sizes = [30, 31, 100, 9, 64]
    if big:
        sizes[2] = 80_000  # lengths over 65536 take another table path
    payloads = [fake_payload(n) for n in sizes]
    data, offsets = frame_all(payloads)
    walk = fast.Walk(np.array(offsets[:-1], dtype=np.int64), np.array(sizes, dtype=np.int64))
    damaged = bytearray(data)
    position = offsets[record] + where if where >= 0 else offsets[record + 1] + where
    damaged[position] ^= 0x20
    flags = fast.find_damaged(as_buffer(damaged), walk)
    assert flags.tolist() == [i == record for i in range(len(sizes))]


def test_find_damaged_with_a_flipped_length_byte_and_zero_length_records() -> None:
    """Given the true boundaries, a changed length byte fails that record's header CRC."""
    payloads = [fake_payload(20), b"", fake_payload(20), b"", fake_payload(33)]
    data, offsets = frame_all(payloads)
    walk = fast.Walk(
        np.array(offsets[:-1], dtype=np.int64),
        np.array([len(p) for p in payloads], dtype=np.int64),
    )
    assert not fast.find_damaged(as_buffer(data), walk).any()
    damaged = bytearray(data)
    damaged[offsets[2]] ^= 0x01
    damaged[offsets[3] + 3] ^= 0x80
    assert fast.find_damaged(as_buffer(damaged), walk).tolist() == [
        False,
        False,
        True,
        True,
        False,
    ]


def test_find_damaged_on_two_damaged_records_of_many() -> None:
    rng = np.random.default_rng(7)
    sizes = rng.integers(9, 300, size=500).tolist()
    payloads = [fake_payload(n, fill=int(rng.integers(0, 256))) for n in sizes]
    data, offsets = frame_all(payloads)
    buf = as_buffer(data)
    walked = fast.walk(buf)
    assert walked.starts.tolist() == offsets[:-1]
    damaged = bytearray(data)
    damaged[offsets[17] + HEADER_SIZE + 3] ^= 0xFF
    damaged[offsets[400] + 9] ^= 0x01
    flags = fast.find_damaged(as_buffer(damaged), walked)
    assert np.flatnonzero(flags).tolist() == [17, 400]
