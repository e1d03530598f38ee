"""The hand-rolled scalar ``Event`` serializer against protobuf's own.

``ScalarEventEncoder`` promises byte-for-byte the output of
``Event(...).SerializeToString()``: these tests compare the bytes, over every
kind of tag (empty, non-ASCII, long enough for 2- and 3-byte length
varints), step (0, negative, int64 extremes), value (NaN payloads, infinities,
subnormals, doubles beyond float32) and wall time, and over sequences of
calls, since the encoder caches per-tag prefixes and the last step's varint.
"""

from __future__ import annotations

import math
import struct

import pytest
from google.protobuf.internal.encoder import _VarintBytes
from hypothesis import given, settings
from hypothesis import strategies as st

from stepscope.proto import event_pb2, summary_pb2
from stepscope.writer.encoding import (
    ScalarEventEncoder,
    event_head,
    float32_bytes,
    summary_event,
    values_event,
    varint,
)

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
FLOAT32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


def reference(tag: str, value: float, step: int, wall_time: float) -> bytes:
    return event_pb2.Event(
        wall_time=wall_time,
        step=step,
        summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]),
    ).SerializeToString()


def double_from_bits(bits: int) -> float:
    return float(struct.unpack("<d", bits.to_bytes(8, "little"))[0])


# Tags: any text; also repeated so that the tag, Summary.Value and Summary
# lengths need 2-byte (> 127) and 3-byte (> 16383) varints.
short_tags = st.text(min_size=1, max_size=40)
long_tags = st.builds(
    lambda text, times: (text * times)[: max(len(text), 20000)],
    st.text(min_size=1, max_size=8),
    st.sampled_from([16, 40, 130, 2100, 5000, 16400]),
)
tags = st.one_of(short_tags, long_tags)
steps = st.one_of(
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(-300, 300),
    st.sampled_from([0, 1, -1, 127, 128, 16383, 16384, 2**31, 2**32, INT64_MAX, INT64_MIN]),
)
values = st.one_of(
    st.floats(),  # NaN, +-inf, subnormals, huge doubles
    st.floats(min_value=FLOAT32_MAX, allow_infinity=False),  # beyond float32: must become inf
    st.floats(max_value=-FLOAT32_MAX, allow_infinity=False),
    st.integers(0, (1 << 64) - 1).map(double_from_bits),  # any bit pattern, any NaN payload
    st.sampled_from([0.0, -0.0, 5e-324, 1e-45, 1.4e-45, FLOAT32_MAX, 3.4028235677973366e38]),
)
# A zero wall time is covered by its own test below (proto3 omits a zero double).
wall_times = st.one_of(
    st.floats().filter(lambda w: w != 0.0 or math.copysign(1.0, w) < 0),
    st.floats(min_value=1e9, max_value=2e9),
)


@settings(derandomize=True, database=None, max_examples=600, deadline=None)
@given(tag=tags, value=values, step=steps, wall_time=wall_times)
def test_scalar_event_is_byte_identical_to_protobuf(
    tag: str, value: float, step: int, wall_time: float
) -> None:
    assert ScalarEventEncoder().encode(tag, value, step, wall_time) == reference(
        tag, value, step, wall_time
    )


@settings(derandomize=True, database=None, max_examples=200, deadline=None)
@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(["loss", "acc", "é/ü", "x" * 200]),
            values,
            st.sampled_from([0, 1, 2, -1, 1000, INT64_MAX]),
            wall_times,
        ),
        min_size=1,
        max_size=60,
    )
)
def test_one_encoder_over_a_sequence_of_calls(calls: list[tuple[str, float, int, float]]) -> None:
    """Cached prefixes and the cached step varint never leak into the next event."""
    encoder = ScalarEventEncoder()
    for tag, value, step, wall_time in calls:
        assert encoder.encode(tag, value, step, wall_time) == reference(tag, value, step, wall_time)


def test_repeated_and_alternating_steps() -> None:
    encoder = ScalarEventEncoder()
    sequence = (
        [5] * 4 + [0] * 3 + [5, 0, 5, 0] + [-1, -1, 1, 1, -1] + [INT64_MAX, INT64_MIN, INT64_MAX]
    )
    sequence += [0, 300, 300, 0, 0, 300]
    for i, step in enumerate(sequence):
        tag = ("a", "b", "c")[i % 3]
        assert encoder.encode(tag, i / 7, step, 1.7e9 + i) == reference(tag, i / 7, step, 1.7e9 + i)


def test_first_event_at_step_zero_then_nonzero() -> None:
    encoder = ScalarEventEncoder()
    assert encoder.encode("t", 1.0, 0, 1.0) == reference("t", 1.0, 0, 1.0)
    assert encoder.encode("t", 1.0, 3, 1.0) == reference("t", 1.0, 3, 1.0)
    assert encoder.encode("t", 1.0, 0, 1.0) == reference("t", 1.0, 0, 1.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (FLOAT32_MAX * 2, math.inf),
        (-FLOAT32_MAX * 2, -math.inf),
        (1e300, math.inf),
        (-1e300, -math.inf),
        (3.4028235677973366e38, math.inf),  # rounds up past float32 max
        (FLOAT32_MAX, FLOAT32_MAX),
        (1e-50, 0.0),
    ],
)
def test_out_of_range_values_become_infinities(value: float, expected: float) -> None:
    payload = ScalarEventEncoder().encode("loss", value, 1, 1.0)
    assert payload == reference("loss", value, 1, 1.0)
    event = event_pb2.Event.FromString(payload)
    assert event.summary.value[0].simple_value == expected
    assert float32_bytes(value) == struct.pack("<f", expected)


def test_nan_value_stays_nan() -> None:
    for bits in (0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0x7FF4000000000000):
        value = double_from_bits(bits)
        payload = ScalarEventEncoder().encode("n", value, 2, 3.0)
        assert payload == reference("n", value, 2, 3.0)
        assert math.isnan(event_pb2.Event.FromString(payload).summary.value[0].simple_value)


@pytest.mark.parametrize("length", [1, 127, 128, 16383, 16384, 70000])
def test_tag_length_varint_boundaries(length: int) -> None:
    # 1- through 3-byte varints, for the tag and both enclosing messages.
    tag = "t" * length
    for step in (0, 7):
        assert ScalarEventEncoder().encode(tag, 0.5, step, 12.5) == reference(tag, 0.5, step, 12.5)


def test_empty_tag_is_byte_identical() -> None:
    # proto3 leaves an empty string field out of the wire format.
    assert ScalarEventEncoder().encode("", 1.0, 1, 1.0) == reference("", 1.0, 1, 1.0)


def test_zero_wall_time_is_byte_identical() -> None:
    # proto3 leaves a zero double field out of the wire format (walltime=0 is legal).
    assert ScalarEventEncoder().encode("t", 1.0, 1, 0.0) == reference("t", 1.0, 1, 0.0)
    assert event_head(0.0, 1) == event_pb2.Event(wall_time=0.0, step=1).SerializeToString()


def test_negative_zero_wall_time_is_byte_identical() -> None:
    assert ScalarEventEncoder().encode("t", 1.0, 1, -0.0) == reference("t", 1.0, 1, -0.0)


@settings(derandomize=True, database=None, deadline=None)
@given(st.one_of(st.integers(INT64_MIN, INT64_MAX), st.sampled_from([0, 1, 127, 128, -1])))
def test_varint_matches_protobuf(n: int) -> None:
    assert varint(n) == _VarintBytes(n & ((1 << 64) - 1))
    if n:
        # protobuf's own int64 encoding of Event.step: tag byte 0x10 then the varint.
        assert event_pb2.Event(step=n).SerializeToString() == b"\x10" + varint(n)


def test_varint_lengths() -> None:
    assert varint(0) == b"\x00"
    assert varint(127) == b"\x7f"
    assert varint(128) == b"\x80\x01"
    assert varint(300) == b"\xac\x02"
    assert len(varint(-1)) == 10
    assert len(varint(INT64_MIN)) == 10
    assert len(varint(INT64_MAX)) == 9


@settings(derandomize=True, database=None, deadline=None)
@given(step=steps, wall_time=wall_times)
def test_event_head_matches_protobuf(step: int, wall_time: float) -> None:
    assert event_head(wall_time, step) == (
        event_pb2.Event(wall_time=wall_time, step=step).SerializeToString()
    )


@settings(derandomize=True, database=None, deadline=None)
@given(tag=tags, step=steps, wall_time=wall_times, value=values)
def test_summary_event_and_values_event_match_protobuf(
    tag: str, step: int, wall_time: float, value: float
) -> None:
    summary_values = [
        summary_pb2.Summary.Value(tag=tag, simple_value=value),
        summary_pb2.Summary.Value(tag=tag + "/2", simple_value=1.0),
    ]
    summary = summary_pb2.Summary(value=summary_values)
    expected = event_pb2.Event(wall_time=wall_time, step=step, summary=summary).SerializeToString()
    assert summary_event(summary, step, wall_time) == expected
    assert values_event(summary_values, step, wall_time) == expected


def test_tensorboards_protobuf_parses_encoder_output() -> None:
    from tensorboard.compat.proto import event_pb2 as tb_event_pb2

    payload = ScalarEventEncoder().encode("loss/train ü", 0.125, 42, 1.7e9)
    event = tb_event_pb2.Event.FromString(payload)
    assert event.step == 42
    assert event.wall_time == 1.7e9
    assert event.summary.value[0].tag == "loss/train ü"
    assert event.summary.value[0].simple_value == 0.125
