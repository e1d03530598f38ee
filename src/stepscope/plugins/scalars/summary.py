"""Writer side of scalars.

Three encodings exist in the wild and stepscope writes the first two:

* legacy ``Summary.Value.simple_value`` (float32), what torch writes by
  default; stepscope serializes it without protobuf objects (see
  :mod:`stepscope.writer.encoding`);
* torch's ``new_style=True``: a rank-0 DT_FLOAT tensor (``float_val``), or a
  DT_DOUBLE one (``double_val``) with ``double_precision=True``, under plugin
  ``scalars``;
* TF2's rank-0 tensor with ``data_class`` SCALAR (read, not written).
"""

from __future__ import annotations

from stepscope.plugins.metadata import plugin_metadata
from stepscope.proto import summary_pb2, tensor_pb2

PLUGIN_NAME = "scalars"


def new_style_value(tag: str, value: float, double_precision: bool) -> summary_pb2.Summary.Value:
    """The ``new_style=True`` form of a scalar, as torch writes it."""
    if double_precision:
        tensor = tensor_pb2.TensorProto(dtype=tensor_pb2.DT_DOUBLE, double_val=[value])
    else:
        tensor = tensor_pb2.TensorProto(dtype=tensor_pb2.DT_FLOAT, float_val=[value])
    return summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=plugin_metadata(PLUGIN_NAME))
