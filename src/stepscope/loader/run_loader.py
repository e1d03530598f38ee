"""Loading one run's event files incrementally into a :class:`~stepscope.loader.model.Sink`.

A :class:`RunLoader` keeps a :class:`~stepscope.records.RecordReader` (an
offset) per file, so each :meth:`RunLoader.load` reads only what was
appended since the last one. Legacy forms are converted as TensorBoard's
``data_compat`` does: ``simple_value`` to a scalar, ``HistogramProto`` to
``[k, 3]`` buckets with the empty ends dropped and the outer edges set to
min and max (kept in float64, where TensorBoard narrows to float32),
``Summary.Image``/``Summary.Audio`` and TF2 image/audio string tensors to
blob references.

Problems (a file that vanished, cannot be read, or holds damaged records)
are reported once per file and skipped; everything readable is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from google.protobuf.message import DecodeError

from stepscope import tensors
from stepscope.loader.model import BlobRef, Sink, TagInfo
from stepscope.proto import event_pb2, summary_pb2, tensor_pb2
from stepscope.records import RecordReader

_LEGACY_PLUGINS = {
    "simple_value": "scalars",
    "histo": "histograms",
    "image": "images",
    "audio": "audio",
}
_START = event_pb2.SessionLog.START


class RunLoader:
    """Reads the event files of one run, remembering how far it got in each.

    Example::

        loader = RunLoader("train")
        sink = MemorySink()
        loader.load(["logs/train/events.out.tfevents.1.host"], sink)
        loader.load([...])  # later: only what was appended is read
    """

    def __init__(self, run: str) -> None:
        self.run = run
        self.readers: dict[str, RecordReader] = {}
        self.tags: dict[str, TagInfo] = {}
        self.events_read = 0
        self._reported: set[str] = set()

    def load(self, files: Sequence[str], sink: Sink) -> int:
        """Read what is new in ``files`` (in this order); return how many events."""
        before = self.events_read
        for path in files:
            reader = self.readers.setdefault(path, RecordReader(path))
            self._load_file(reader, sink)
        return self.events_read - before

    def corrupt_records(self) -> int:
        """How many damaged records were skipped in this run's files."""
        return sum(reader.corrupt_records for reader in self.readers.values())

    def _load_file(self, reader: RecordReader, sink: Sink) -> None:
        known_problems = len(reader.problems)
        try:
            for offset, payload in reader.records():
                self._load_record(reader.path, offset, payload, sink)
        except FileNotFoundError:
            self._report(sink, reader.path, "the file disappeared while it was being read")
        except OSError as error:
            self._report(sink, reader.path, f"cannot read the file: {error.strerror or error}")
        for problem in reader.problems[known_problems:]:
            self._report(sink, reader.path, f"{problem.message} at byte {problem.offset}")

    def _report(self, sink: Sink, path: str, message: str) -> None:
        if path not in self._reported:
            self._reported.add(path)
            sink.problem(self.run, path, f"{path}: {message}; the rest of the run is still read")

    def _load_record(self, path: str, offset: int, payload: bytes, sink: Sink) -> None:
        try:
            event = event_pb2.Event.FromString(payload)
        except DecodeError:
            self._report(sink, path, f"a record at byte {offset} is not an event")
            return
        self.events_read += 1
        kind = event.WhichOneof("what")
        if kind == "summary":
            for value in event.summary.value:
                self._load_value(value, event, path, offset, payload, sink)
        elif kind == "session_log" and event.session_log.status == _START:
            # A restart at step S hides what earlier attempts wrote at S and later.
            sink.purge(self.run, event.step)

    def _info(self, value: summary_pb2.Summary.Value, sink: Sink) -> TagInfo:
        info = self.tags.get(value.tag)
        if info is None:
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
            self.tags[value.tag] = info
            sink.tag(self.run, value.tag, info)
        return info

    def _load_value(
        self,
        value: summary_pb2.Summary.Value,
        event: event_pb2.Event,
        path: str,
        offset: int,
        payload: bytes,
        sink: Sink,
    ) -> None:
        info = self._info(value, sink)
        kind = value.WhichOneof("value")
        run, tag, step, wall = self.run, value.tag, event.step, event.wall_time
        if kind == "simple_value":
            sink.scalar(run, tag, step, wall, float(value.simple_value))
        elif kind == "histo":
            sink.tensor(run, tag, step, wall, histogram_buckets(value.histo))
        elif kind == "image":
            image = value.image
            ref = _blob(path, offset, payload, image.encoded_image_string, "")
            sink.blob(run, tag, step, wall, 0, _sized(ref, image.width, image.height))
        elif kind == "audio":
            audio = value.audio
            ref = _blob(path, offset, payload, audio.encoded_audio_string, audio.content_type)
            sink.blob(run, tag, step, wall, 0, ref)
        elif kind == "tensor":
            self._load_tensor(
                info, value.tensor, (run, tag, step, wall), path, offset, payload, sink
            )

    def _load_tensor(
        self,
        info: TagInfo,
        proto: tensor_pb2.TensorProto,
        where: tuple[str, str, int, float],
        path: str,
        offset: int,
        payload: bytes,
        sink: Sink,
    ) -> None:
        run, tag, step, wall = where
        array = tensors.to_numpy(proto)
        if info.plugin_name == "scalars" and array.size == 1:
            sink.scalar(run, tag, step, wall, float(array.reshape(-1)[0]))
        elif info.plugin_name == "images" and proto.dtype == tensors.DT.DT_STRING:
            width, height = (int(x) for x in array.reshape(-1)[:2])
            for index, encoded in enumerate(array.reshape(-1)[2:]):
                ref = _blob(path, offset, payload, encoded, "")
                sink.blob(run, tag, step, wall, index, _sized(ref, width, height))
        elif info.plugin_name == "audio" and proto.dtype == tensors.DT.DT_STRING:
            clips = array if array.ndim == 1 else array[:, 0]
            for index, encoded in enumerate(clips.reshape(-1)):
                sink.blob(
                    run, tag, step, wall, index, _blob(path, offset, payload, encoded, "audio/wav")
                )
        else:
            sink.tensor(run, tag, step, wall, array)


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
    return BlobRef(path, offset + max(start, 0), len(data), content_type=content_type)


def _sized(ref: BlobRef, width: int, height: int) -> BlobRef:
    return BlobRef(ref.path, ref.offset, ref.length, width, height, ref.content_type)
