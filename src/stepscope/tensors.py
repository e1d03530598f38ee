"""``TensorProto`` to and from numpy, for every dtype TensorBoard files use.

Writing uses ``tensor_content`` (raw little-endian bytes) for numbers, which
is compact and fast for large tensors, and ``string_val`` for strings.
Reading accepts both that and the typed ``*_val`` fields, including the rule
that a single element with a larger shape fills the whole shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from stepscope.proto import tensor_pb2

DT = tensor_pb2.DataType

_NUMPY_TO_DTYPE: dict[np.dtype[Any], int] = {
    np.dtype(np.float16): DT.DT_HALF,
    np.dtype(np.float32): DT.DT_FLOAT,
    np.dtype(np.float64): DT.DT_DOUBLE,
    np.dtype(np.int8): DT.DT_INT8,
    np.dtype(np.int16): DT.DT_INT16,
    np.dtype(np.int32): DT.DT_INT32,
    np.dtype(np.int64): DT.DT_INT64,
    np.dtype(np.uint8): DT.DT_UINT8,
    np.dtype(np.uint16): DT.DT_UINT16,
    np.dtype(np.uint32): DT.DT_UINT32,
    np.dtype(np.uint64): DT.DT_UINT64,
    np.dtype(np.bool_): DT.DT_BOOL,
    np.dtype(np.complex64): DT.DT_COMPLEX64,
    np.dtype(np.complex128): DT.DT_COMPLEX128,
}
_DTYPE_TO_NUMPY: dict[int, np.dtype[Any]] = {v: k for k, v in _NUMPY_TO_DTYPE.items()}

# Which repeated field holds the values of each dtype when tensor_content is empty.
_VAL_FIELD: dict[int, str] = {
    DT.DT_HALF: "half_val",
    DT.DT_BFLOAT16: "half_val",
    DT.DT_FLOAT: "float_val",
    DT.DT_DOUBLE: "double_val",
    DT.DT_INT8: "int_val",
    DT.DT_INT16: "int_val",
    DT.DT_INT32: "int_val",
    DT.DT_UINT8: "int_val",
    DT.DT_UINT16: "int_val",
    DT.DT_INT64: "int64_val",
    DT.DT_UINT32: "uint32_val",
    DT.DT_UINT64: "uint64_val",
    DT.DT_BOOL: "bool_val",
    DT.DT_COMPLEX64: "scomplex_val",
    DT.DT_COMPLEX128: "dcomplex_val",
    DT.DT_STRING: "string_val",
}


def dtype_name(dtype: int) -> str:
    """``"float32"``-style name of a TensorProto dtype (``"string"`` for DT_STRING)."""
    if dtype == DT.DT_STRING:
        return "string"
    if dtype == DT.DT_BFLOAT16:
        return "bfloat16"
    numpy_dtype = _DTYPE_TO_NUMPY.get(dtype)
    return str(numpy_dtype) if numpy_dtype is not None else f"dtype#{dtype}"


def shape_proto(shape: tuple[int, ...]) -> tensor_pb2.TensorShapeProto:
    return tensor_pb2.TensorShapeProto(
        dim=[tensor_pb2.TensorShapeProto.Dim(size=int(size)) for size in shape]
    )


def string_tensor(strings: list[bytes], shape: tuple[int, ...]) -> tensor_pb2.TensorProto:
    """A DT_STRING tensor of ``shape`` holding ``strings`` in row-major order."""
    return tensor_pb2.TensorProto(
        dtype=DT.DT_STRING, tensor_shape=shape_proto(shape), string_val=strings
    )


def to_tensor_proto(array: npt.ArrayLike) -> tensor_pb2.TensorProto:
    """A TensorProto holding ``array`` (numbers, booleans or strings)."""
    array = np.asarray(array)
    if array.dtype.kind in "USO":
        flat = [_to_bytes(item) for item in array.reshape(-1).tolist()]
        return string_tensor(flat, array.shape)
    dtype = _NUMPY_TO_DTYPE.get(
        array.dtype.newbyteorder("=") if array.dtype.byteorder == ">" else array.dtype
    )
    if dtype is None:
        raise ValueError(f"cannot log a tensor of dtype {array.dtype}")
    if array.nbytes >= 1 << 31:
        raise ValueError(
            f"a tensor of {array.nbytes} bytes is over protobuf's 2 GiB limit; log a slice or a summary of it"
        )
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return tensor_pb2.TensorProto(
        dtype=dtype,  # type: ignore[arg-type]
        tensor_shape=shape_proto(array.shape),
        tensor_content=np.ascontiguousarray(little).tobytes(),
    )


def _to_bytes(item: object) -> bytes:
    if isinstance(item, bytes):
        return item
    return str(item).encode("utf-8")


def shape_of(proto: tensor_pb2.TensorProto) -> tuple[int, ...]:
    return tuple(int(dim.size) for dim in proto.tensor_shape.dim)


def to_numpy(proto: tensor_pb2.TensorProto) -> npt.NDArray[Any]:
    """The values of a TensorProto as a numpy array (strings as an object array of bytes)."""
    shape = shape_of(proto)
    size = int(np.prod(shape)) if shape else 1
    if proto.dtype == DT.DT_STRING:
        values: npt.NDArray[Any] = np.empty(len(proto.string_val), dtype=object)
        values[:] = list(proto.string_val)
        return _fill(values, shape, size)
    if proto.dtype == DT.DT_BFLOAT16:
        return _bfloat16(proto, shape, size)
    numpy_dtype = _DTYPE_TO_NUMPY.get(proto.dtype)
    if numpy_dtype is None:
        raise ValueError(f"unsupported tensor dtype {proto.dtype}")
    if proto.tensor_content:
        flat = np.frombuffer(proto.tensor_content, dtype=numpy_dtype.newbyteorder("<"))
        return flat.astype(numpy_dtype, copy=False).reshape(shape)
    field = _VAL_FIELD[proto.dtype]
    raw = list(getattr(proto, field))
    if proto.dtype == DT.DT_HALF:
        values = np.array(raw, dtype=np.uint16).view(np.float16)
    elif proto.dtype in (DT.DT_COMPLEX64, DT.DT_COMPLEX128):
        pairs = np.array(raw, dtype=np.float64).reshape(-1, 2)
        values = (pairs[:, 0] + 1j * pairs[:, 1]).astype(numpy_dtype)
    else:
        values = np.array(raw, dtype=numpy_dtype)
    return _fill(values, shape, size)


def _bfloat16(proto: tensor_pb2.TensorProto, shape: tuple[int, ...], size: int) -> npt.NDArray[Any]:
    if proto.tensor_content:
        bits = np.frombuffer(proto.tensor_content, dtype="<u2")
    else:
        bits = np.array(list(proto.half_val), dtype=np.uint32).astype(np.uint16)
    values = (bits.astype(np.uint32) << 16).view(np.float32)
    return _fill(values, shape, size)


def _fill(values: npt.NDArray[Any], shape: tuple[int, ...], size: int) -> npt.NDArray[Any]:
    if values.size == size:
        return values.reshape(shape)
    if values.size == 1:
        return np.full(shape, values[0], dtype=values.dtype)
    if values.size == 0:
        return np.zeros(shape, dtype=values.dtype)
    raise ValueError(f"tensor has {values.size} values for shape {shape}")
