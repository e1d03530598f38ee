"""Parsing what is new in one run's event files into one columnar :class:`RunChunk`.

This is the unit of work of a load: :func:`parse_run` takes a run's files
with the offset reached in each, reads everything appended since, and
returns plain data (numpy columns and lists) that can be pickled back from
a worker process and applied to the index, or replayed into a
:class:`~stepscope.loader.model.Sink`.

Each window of a file goes through the vectorized path first
(:mod:`stepscope.loader.fast`): the record chain is walked, every CRC is
checked at once, and plain scalars are decoded column-wise. The records that
path does not take (tensors, images, metadata, anything unusual) are parsed
one by one with protobuf, in the same pass, keeping file order: every value
gets a sequence number, its position in the run.

Legacy forms are converted as TensorBoard's ``data_compat`` does:
``simple_value`` to a scalar, ``HistogramProto`` to ``[k, 3]`` buckets with
the empty ends dropped and the outer edges set to min and max (kept in
float64, where TensorBoard narrows to float32), ``Summary.Image`` /
``Summary.Audio`` and TF2 image/audio string tensors to blob references.
Graphs (``graph_def``, ``tagged_run_metadata``, TF2's run metadata and
Keras's model config) become blob references too (:mod:`stepscope.loader.graphs`).
A ``SessionLog START`` at step S drops what the run logged before it at S or
later, as TensorBoard does for a restarted run. A ``SessionLog CHECKPOINT``
(a checkpoint saved at a step: its path and message) is kept as a
checkpoint row, and a restart drops earlier ones at S or later like any value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from google.protobuf.message import DecodeError

from stepscope import tensors
from stepscope.loader import fast, graphs
from stepscope.loader.model import BlobRef, FileState, Sink, TagInfo, sniff_content_type
from stepscope.proto import event_pb2, summary_pb2, tensor_pb2
from stepscope.records import HEADER_SIZE, RecordReader, masked_crc32c

# How much of a file is read and parsed at once; bounds a worker's memory.
WINDOW = 4 << 20
# Records read one by one before trying the vectorized path again.
_SLOW_STEP = 512
_LEGACY_PLUGINS = {
    "simple_value": "scalars",
    "histo": "histograms",
    "image": "images",
    "audio": "audio",
}
_START = event_pb2.SessionLog.START
_CHECKPOINT = event_pb2.SessionLog.CHECKPOINT


@dataclass
class RunChunk:
    """Everything new in one run, in columns, with purges already applied within it.

    ``purges`` are the restarts seen in this chunk; whoever keeps earlier
    data of the run drops from it the rows at or after each purge's step
    before adding this chunk's rows.
    """

    run: str
    files: list[FileState]
    tags: dict[str, TagInfo] = field(default_factory=dict)
    scalar_tags: list[str] = field(default_factory=list)
    scalar_seq: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    scalar_tag: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    steps: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    wall_times: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    values: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    tensors: list[tuple[int, str, int, float, npt.NDArray[Any]]] = field(default_factory=list)
    blobs: list[tuple[int, str, int, float, int, BlobRef]] = field(default_factory=list)
    purges: list[tuple[int, int]] = field(default_factory=list)
    #: ``(seq, step, wall_time, checkpoint_path, msg)`` of each ``SessionLog CHECKPOINT``.
    checkpoints: list[tuple[int, int, float, str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    events: int = 0
    bytes_read: int = 0

    def replay(self, sink: Sink) -> None:
        """Hand this chunk to a sink: purges of earlier data first, then tags, then values."""
        for _, step in self.purges:
            sink.purge(self.run, step)
        for tag, info in self.tags.items():
            sink.tag(self.run, tag, info)
        for i in range(len(self.steps)):
            sink.scalar(
                self.run,
                self.scalar_tags[int(self.scalar_tag[i])],
                int(self.steps[i]),
                float(self.wall_times[i]),
                float(self.values[i]),
            )
        for _, tag, step, wall, array in self.tensors:
            sink.tensor(self.run, tag, step, wall, array)
        for _, tag, step, wall, index, ref in self.blobs:
            sink.blob(self.run, tag, step, wall, index, ref)
        for _, step, wall, path, message in self.checkpoints:
            sink.checkpoint(self.run, step, wall, path, message)
        for path, message in self.problems:
            sink.problem(self.run, path, message)


def parse_run(
    run: str, files: list[FileState], known_tags: dict[str, TagInfo] | None = None
) -> RunChunk:
    """Read what is new in ``files`` (in this order) into a :class:`RunChunk`.

    ``files`` are not changed; the chunk holds their new states.
    """
    parser = _RunParser(run, dict(known_tags or {}))
    states = [replace(state) for state in files]
    for state in states:
        parser.parse_file(state)
    return parser.finish(states)


class _RunParser:
    def __init__(self, run: str, known: dict[str, TagInfo]) -> None:
        self.run = run
        self.known = known
        self.new_tags: dict[str, TagInfo] = {}
        self.seq = 0
        self.events = 0
        self.bytes_read = 0
        self.scalar_parts: list[tuple[npt.NDArray[Any], ...]] = []
        self.scalar_names: dict[str, int] = {}
        self.slow_scalars: list[tuple[int, int, int, float, float]] = []
        self.tensors: list[tuple[int, str, int, float, npt.NDArray[Any]]] = []
        self.blobs: list[tuple[int, str, int, float, int, BlobRef]] = []
        self.purges: list[tuple[int, int]] = []
        self.checkpoints: list[tuple[int, int, float, str, str]] = []
        self.problems: list[tuple[str, str]] = []
        # Scalar tags met by the vectorized path but not yet registered:
        # tag -> sequence number of the first one.
        self.pending: dict[str, int] = {}

    # -- files ---------------------------------------------------------------

    def parse_file(self, state: FileState) -> None:
        try:
            with open(state.path, "rb") as f:
                while True:
                    f.seek(state.offset)
                    data = f.read(WINDOW)
                    if not data:
                        return
                    self.bytes_read += len(data)
                    done = self._parse_window(state, data)
                    if not done:
                        done = self._parse_slowly(state)
                    if not done:
                        return  # a partial record at the end: wait for the writer
        except FileNotFoundError:
            self._report(state, "the file disappeared while it was being read")
        except OSError as error:
            self._report(state, f"cannot read the file: {error.strerror or error}")

    def _parse_window(self, state: FileState, data: bytes) -> int:
        """Parse the records at the start of ``data`` the vectorized way; return bytes consumed."""
        buf = np.frombuffer(data, dtype=np.uint8)
        walked = fast.walk(buf)
        count = len(walked.starts)
        if not count:
            return 0
        damaged = fast.find_damaged(buf, walked)
        if damaged.any():
            # A record whose length fails its checksum cannot be trusted to say
            # where the next one starts: stop before it, and let the record-by-
            # record reader resynchronize from there.
            bad = _first_bad_header(data, walked, damaged)
            if bad is not None:
                if bad == 0:
                    return 0
                walked = fast.Walk(walked.starts[:bad], walked.lengths[:bad])
                damaged = damaged[:bad]
                count = bad
        simple = fast.simple_scalars(buf, walked)
        base_seq = self.seq
        self.seq += count
        # Damaged records are skipped; a tag that is not valid UTF-8 is left to
        # protobuf, so both paths treat it alike.
        named = np.array([name is not None for name in simple.tag_names], dtype=bool)
        taken = ~damaged[simple.which]
        if len(named):
            taken &= named[simple.tag_codes]
        is_simple = np.zeros(count, dtype=bool)
        is_simple[simple.which[taken]] = True
        if taken.any():
            self._add_simple(base_seq, simple, taken)
        for i in np.flatnonzero(damaged).tolist():
            self._corrupt(state, state.offset + int(walked.starts[i]), "record checksum mismatch")
        slow = np.flatnonzero(~is_simple & ~damaged)
        starts = (walked.starts[slow] + HEADER_SIZE).tolist()
        lengths = walked.lengths[slow].tolist()
        for i, start, length in zip(slow.tolist(), starts, lengths, strict=True):
            self._record(base_seq + i, state, state.offset + start, data[start : start + length])
        self.events += int(np.count_nonzero(~damaged))
        state.offset += walked.end
        return walked.end

    def _parse_slowly(self, state: FileState) -> int:
        """Parse up to a few hundred records one by one (what the fast path cannot walk)."""
        reader = RecordReader(state.path, offset=state.offset, chunk_size=_slow_chunk(state))
        start = state.offset
        for taken, (offset, payload) in enumerate(reader.records(), start=1):
            self.events += 1
            self._record(self.seq, state, offset, payload)
            self.seq += 1
            if taken >= _SLOW_STEP:
                break
        for problem in reader.problems:
            self._corrupt(state, problem.offset, problem.message, count=False)
        state.corrupt_records += reader.corrupt_records
        state.offset = reader.offset
        return state.offset - start

    def _corrupt(self, state: FileState, offset: int, message: str, count: bool = True) -> None:
        if count:
            state.corrupt_records += 1
        self._report(state, f"{message} at byte {offset}")

    def _report(self, state: FileState, message: str) -> None:
        if not state.reported:
            state.reported = True
            self.problems.append(
                (state.path, f"{state.path}: {message}; the rest of the run is still read")
            )

    # -- values --------------------------------------------------------------

    def _add_simple(
        self, base_seq: int, simple: fast.SimpleScalars, taken: npt.NDArray[np.bool_]
    ) -> None:
        seqs = base_seq + simple.which[taken]
        tag_codes = simple.tag_codes[taken]
        used, first = np.unique(tag_codes, return_index=True)
        codes = np.full(len(simple.tag_names), -1, dtype=np.int32)
        for code, first_seq in zip(used.tolist(), seqs[first].tolist(), strict=True):
            name = simple.tag_names[code]
            assert name is not None  # rows with undecodable names are not taken
            codes[code] = self.scalar_names.setdefault(name, len(self.scalar_names))
            if name not in self.known and name not in self.pending:
                self.pending[name] = first_seq
        self.scalar_parts.append(
            (
                seqs,
                codes[tag_codes],
                simple.steps[taken],
                simple.wall_times[taken],
                simple.values[taken],
            )
        )

    def _record(self, seq: int, state: FileState, offset: int, payload: bytes) -> None:
        path = state.path
        try:
            event = event_pb2.Event.FromString(payload)
        except DecodeError:
            self._report(state, f"a record at byte {offset} is not an event")
            return
        kind = event.WhichOneof("what")
        if kind == "summary":
            for value in event.summary.value:
                self._value(seq, value, event, path, offset, payload)
        elif kind == "session_log":
            self._session_log(seq, event)
        elif kind in graphs.GRAPH_EVENTS:
            try:
                tag, info, ref = graphs.event_graph(kind, path, offset, payload)
            except ValueError as error:
                self._corrupt(state, offset, f"a damaged {kind} ({error})")
                return
            if tag not in self.known:
                self.known[tag] = self.new_tags[tag] = info
            self.blobs.append((seq, tag, event.step, event.wall_time, 0, ref))

    def _session_log(self, seq: int, event: event_pb2.Event) -> None:
        log = event.session_log
        if log.status == _START:
            # A restart at step S hides what earlier attempts wrote at S and later.
            self.purges.append((seq, event.step))
        elif log.status == _CHECKPOINT:
            self.checkpoints.append(
                (seq, event.step, event.wall_time, log.checkpoint_path, log.msg)
            )

    def _info(self, seq: int, value: summary_pb2.Summary.Value) -> TagInfo:
        tag = value.tag
        info = self.known.get(tag)
        if info is not None:
            return info
        first_fast = self.pending.get(tag)
        if first_fast is not None and first_fast < seq:
            info = TagInfo(plugin_name="scalars")
        else:
            metadata = value.metadata
            plugin = metadata.plugin_data.plugin_name or _LEGACY_PLUGINS.get(
                value.WhichOneof("value") or "", ""
            )
            info = TagInfo(
                plugin_name=plugin,
                content=metadata.plugin_data.content,
                data_class=int(metadata.data_class),
                display_name=metadata.display_name,
                description=metadata.summary_description,
            )
        self.pending.pop(tag, None)
        self.known[tag] = self.new_tags[tag] = info
        return info

    def _scalar(self, seq: int, tag: str, step: int, wall: float, value: float) -> None:
        code = self.scalar_names.setdefault(tag, len(self.scalar_names))
        self.slow_scalars.append((seq, code, step, wall, value))

    def _value(
        self,
        seq: int,
        value: summary_pb2.Summary.Value,
        event: event_pb2.Event,
        path: str,
        offset: int,
        payload: bytes,
    ) -> None:
        info = self._info(seq, value)
        kind = value.WhichOneof("value")
        tag, step, wall = value.tag, event.step, event.wall_time
        if kind == "simple_value":
            self._scalar(seq, tag, step, wall, float(value.simple_value))
        elif kind == "histo":
            self.tensors.append((seq, tag, step, wall, histogram_buckets(value.histo)))
        elif kind == "image":
            image = value.image
            ref = _blob(path, offset, payload, image.encoded_image_string, "")
            self.blobs.append((seq, tag, step, wall, 0, _sized(ref, image.width, image.height)))
        elif kind == "audio":
            audio = value.audio
            ref = _blob(path, offset, payload, audio.encoded_audio_string, audio.content_type)
            self.blobs.append((seq, tag, step, wall, 0, ref))
        elif kind == "tensor":
            self._tensor(seq, info, value.tensor, (tag, step, wall), path, offset, payload)

    def _tensor(
        self,
        seq: int,
        info: TagInfo,
        proto: tensor_pb2.TensorProto,
        where: tuple[str, int, float],
        path: str,
        offset: int,
        payload: bytes,
    ) -> None:
        tag, step, wall = where
        try:
            array = tensors.to_numpy(proto)
        except ValueError as error:
            self.problems.append(
                (
                    path,
                    f"{path}: tag {tag!r} at step {step} holds a tensor stepscope cannot decode ({error}); it was skipped",
                )
            )
            return
        if info.plugin_name == "scalars" and array.size == 1:
            self._scalar(seq, tag, step, wall, float(array.reshape(-1)[0]))
        elif info.plugin_name == "images" and proto.dtype == tensors.DT.DT_STRING:
            width, height = (int(x) for x in array.reshape(-1)[:2])
            for index, encoded in enumerate(array.reshape(-1)[2:]):
                ref = _blob(path, offset, payload, encoded, "")
                self.blobs.append((seq, tag, step, wall, index, _sized(ref, width, height)))
        elif info.plugin_name == "audio" and proto.dtype == tensors.DT.DT_STRING:
            clips = array if array.ndim == 1 else array[:, 0]
            for index, encoded in enumerate(clips.reshape(-1)):
                ref = _blob(path, offset, payload, encoded, "audio/wav")
                self.blobs.append((seq, tag, step, wall, index, ref))
        elif graphs.is_graph_plugin(info.plugin_name) and proto.dtype == tensors.DT.DT_STRING:
            # Graphs stay in the event file: the index keeps where they are.
            kind = graphs.content_type(info.plugin_name)
            for index, encoded in enumerate(array.reshape(-1)):
                ref = _blob(path, offset, payload, encoded, kind)
                self.blobs.append((seq, tag, step, wall, index, ref))
        else:
            self.tensors.append((seq, tag, step, wall, array))

    # -- the result ----------------------------------------------------------

    def finish(self, states: list[FileState]) -> RunChunk:
        for tag, _ in sorted(self.pending.items(), key=lambda item: item[1]):
            self.known[tag] = self.new_tags[tag] = TagInfo(plugin_name="scalars")
        self.pending.clear()
        parts = list(self.scalar_parts)
        if self.slow_scalars:
            seq, code, step, wall, value = zip(*self.slow_scalars, strict=True)
            parts.append(
                (
                    np.array(seq, dtype=np.int64),
                    np.array(code, dtype=np.int64),
                    np.array(step, dtype=np.int64),
                    np.array(wall, dtype=np.float64),
                    np.array(value, dtype=np.float64),
                )
            )
        chunk = RunChunk(
            run=self.run,
            files=states,
            tags=self.new_tags,
            scalar_tags=list(self.scalar_names),
            tensors=self.tensors,
            blobs=self.blobs,
            purges=self.purges,
            checkpoints=self.checkpoints,
            problems=self.problems,
            events=self.events,
            bytes_read=self.bytes_read,
        )
        if parts:
            columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
            order = np.argsort(columns[0], kind="stable")
            (
                chunk.scalar_seq,
                chunk.scalar_tag,
                chunk.steps,
                chunk.wall_times,
                chunk.values,
            ) = (column[order] for column in columns)
        _purge_within(chunk)
        # Rows are in log order now; the sequence numbers need not travel back.
        chunk.scalar_seq = chunk.scalar_seq[:0]
        chunk.scalar_tag = chunk.scalar_tag.astype(np.int32)
        return chunk


def _slow_chunk(state: FileState) -> int:
    """How much the record-by-record reader reads at once: a whole big record (a graph) in one go."""
    with open(state.path, "rb") as f:
        f.seek(state.offset)
        header = f.read(HEADER_SIZE)
    length = int.from_bytes(header[:8], "little")
    intact = len(header) == HEADER_SIZE and masked_crc32c(header[:8]) == int.from_bytes(
        header[8:], "little"
    )
    # Beyond 2 GiB (protobuf's own limit) a length is not a real event's.
    return max(1 << 20, length + HEADER_SIZE + 4) if intact and length < 1 << 31 else 1 << 20


def _first_bad_header(data: bytes, walked: fast.Walk, damaged: npt.NDArray[np.bool_]) -> int | None:
    """The first damaged record whose length field fails its checksum, if any."""
    for i in np.flatnonzero(damaged).tolist():
        start = int(walked.starts[i])
        stored = int.from_bytes(data[start + 8 : start + 12], "little")
        if masked_crc32c(data[start : start + 8]) != stored:
            return int(i)
    return None


def _purge_within(chunk: RunChunk) -> None:
    """Apply each purge to the rows before it in the chunk."""
    for purge_seq, step in chunk.purges:
        hidden = (chunk.scalar_seq < purge_seq) & (chunk.steps >= step)
        if hidden.any():
            keep = ~hidden
            chunk.scalar_seq = chunk.scalar_seq[keep]
            chunk.scalar_tag = chunk.scalar_tag[keep]
            chunk.steps = chunk.steps[keep]
            chunk.wall_times = chunk.wall_times[keep]
            chunk.values = chunk.values[keep]
        chunk.tensors = [t for t in chunk.tensors if not (t[0] < purge_seq and t[2] >= step)]
        chunk.blobs = [b for b in chunk.blobs if not (b[0] < purge_seq and b[2] >= step)]
        chunk.checkpoints = [
            c for c in chunk.checkpoints if not (c[0] < purge_seq and c[1] >= step)
        ]


def histogram_buckets(histo: summary_pb2.HistogramProto) -> npt.NDArray[np.float64]:
    """``[k, 3]`` rows of ``(left, right, count)`` from a legacy ``HistogramProto``.

    As TensorBoard does: empty buckets at both ends are dropped, and the outer
    edges become the histogram's min and max (legacy files may hold +-DBL_MAX there).
    """
    counts = list(histo.bucket)
    nonzero = [i for i, count in enumerate(counts) if count > 0]
    if not nonzero:
        return np.zeros((0, 3), dtype=np.float64)
    first, last = nonzero[0], nonzero[-1]
    inner = list(histo.bucket_limit[first:last])
    lefts = [histo.min, *inner]
    rights = [*inner, histo.max]
    rows: npt.NDArray[np.float64] = np.array(
        [lefts, rights, counts[first : last + 1]], dtype=np.float64
    ).T.copy()
    return rows


def _blob(path: str, offset: int, payload: bytes, data: bytes, content_type: str) -> BlobRef:
    """Where ``data`` (a field of the record at ``offset``) lies in the file."""
    start = payload.find(data) if data else 0
    kind = content_type or (sniff_content_type(data[:8]) if data else "")
    return BlobRef(path, offset + max(start, 0), len(data), content_type=kind)


def _sized(ref: BlobRef, width: int, height: int) -> BlobRef:
    return BlobRef(ref.path, ref.offset, ref.length, width, height, ref.content_type)
