"""Writer side: a torch model traced into a ``GraphDef`` that TensorBoard's graph plugin reads.

The model is traced with ``torch.jit.trace`` in eval mode (its modes are
restored afterwards), the trace is inlined, and each operation becomes one
node named by the module tree it ran in, as torch names them::

    Net/Sequential[features]/Conv2d[0]/convolution

Besides what torch writes (``_output_shapes``), each node says more, for
reading a model rather than a trace:

* ``_output_types``: the dtype of each output;
* ``_module`` and ``_module_class``: the module's path in the model
  (``features.0``) and its class (``torch.nn.modules.conv.Conv2d``);
* parameters and buffers are nodes of their own (op ``Parameter`` or
  ``Buffer``) named after them (``.../Conv2d[0]/weight``), with ``_param``
  (the name in ``state_dict``), shape and dtype, one node however often the
  module runs;
* scalar constants (strides, paddings, flags) are attributes of the
  operation that uses them, named after its arguments (``stride = [1, 1]``),
  rather than nodes and edges of their own.

torch is imported only when a graph is traced.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from stepscope import tensors
from stepscope.errors import UsageError
from stepscope.plugins.graphs import metadata
from stepscope.proto import graph_pb2, run_metadata_pb2, tensor_pb2

DT = tensor_pb2.DataType
# torch's JIT scalar type names and dtype names, as TensorBoard's dtypes.
_SCALAR_TYPES = {
    "Float": DT.DT_FLOAT,
    "Double": DT.DT_DOUBLE,
    "Half": DT.DT_HALF,
    "BFloat16": DT.DT_BFLOAT16,
    "Int": DT.DT_INT32,
    "Long": DT.DT_INT64,
    "Short": DT.DT_INT16,
    "Char": DT.DT_INT8,
    "Byte": DT.DT_UINT8,
    "Bool": DT.DT_BOOL,
    "ComplexFloat": DT.DT_COMPLEX64,
    "ComplexDouble": DT.DT_COMPLEX128,
}
_DTYPE_NAMES = {
    "float32": "Float",
    "float64": "Double",
    "float16": "Half",
    "bfloat16": "BFloat16",
    "int32": "Int",
    "int64": "Long",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
    "complex64": "ComplexFloat",
    "complex128": "ComplexDouble",
}
_IO_OP = "IO Node"  # what torch calls graph inputs and outputs
# A tensor constant's values go into the graph up to this many elements.
_SMALL_TENSOR = 16
_REASON_CHARS = 300
_TRACE_DEPRECATED = r"`torch\.jit\.trace\w*` is deprecated"
# Structural ops whose inputs, when all constant, make a constant list.
_CONTAINERS = ("prim::ListConstruct", "prim::TupleConstruct")


def trace_graph(
    model: Any, input_to_model: Any = None, verbose: bool = False, use_strict_trace: bool = True
) -> tuple[graph_pb2.GraphDef, run_metadata_pb2.RunMetadata]:
    """The graph of ``model`` run on ``input_to_model``, and the run metadata torch writes with it.

    Raises :class:`~stepscope.errors.UsageError` (one line naming the module
    and the tracer's reason) when the model cannot be traced.
    """
    try:
        import torch
    except ImportError as error:
        raise UsageError(
            "add_graph traces the model with torch, which is not installed: pip install torch"
        ) from error

    inputs = () if input_to_model is None else input_to_model
    with _eval_mode(model), _module_stack(model) as stack, warnings.catch_warnings():
        # The trace is only drawn, never run again: that it might not generalize to
        # other inputs (TracerWarning), or that torch 2.9+ deprecates torch.jit.trace
        # (which the user did not call), would only alarm.
        warnings.filterwarnings("ignore", _TRACE_DEPRECATED, DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # type: ignore[attr-defined]
        try:
            traced = torch.jit.trace(  # type: ignore[no-untyped-call]
                model, inputs, strict=use_strict_trace, check_trace=False
            )
        except Exception as error:
            raise UsageError(_trace_failure(model, stack, error, use_strict_trace)) from error
    graph = traced.graph
    torch._C._jit_pass_inline(graph)
    if verbose:
        print(graph)
    nodes = _Builder(model).build(graph)
    graph_def = graph_pb2.GraphDef(
        node=nodes, versions=graph_pb2.VersionDef(producer=metadata.PRODUCER)
    )
    # torch writes this (a CPU device and no measurement) as the "step1" run metadata.
    stats = run_metadata_pb2.StepStats(
        dev_stats=[run_metadata_pb2.DeviceStepStats(device="/device:CPU:0")]
    )
    return graph_def, run_metadata_pb2.RunMetadata(step_stats=stats)


# -- tracing ------------------------------------------------------------------------


@contextlib.contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """Every module in eval mode for the trace, each put back in its own mode after."""
    import torch

    if not isinstance(model, torch.nn.Module):
        yield
        return
    modes = [(module, module.training) for module in model.modules()]
    model.train(False)
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


@contextlib.contextmanager
def _module_stack(model: Any) -> Iterator[list[Any]]:
    """The modules whose ``forward`` is running, innermost last (to name where a trace failed)."""
    import torch
    from torch.nn.modules import module as module_hooks

    stack: list[Any] = []
    if not isinstance(model, torch.nn.Module):
        yield stack
        return
    mine = {id(found) for found in model.modules()}

    def enter(module: Any, _inputs: Any) -> None:
        if id(module) in mine:
            stack.append(module)

    def leave(module: Any, _inputs: Any, _output: Any) -> None:
        if stack and stack[-1] is module:
            stack.pop()

    handles = [
        module_hooks.register_module_forward_pre_hook(enter),
        module_hooks.register_module_forward_hook(leave),
    ]
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()


def _trace_failure(model: Any, stack: list[Any], error: BaseException, strict: bool) -> str:
    """One line: which module could not be traced, and the tracer's reason."""
    name = _model_name(model)
    where = ""
    if stack and stack[-1] is not model:
        paths = {id(module): path for path, module in model.named_modules()}
        innermost = stack[-1]
        where = f" (in {paths.get(id(innermost), '?')}: {type(innermost).__name__})"
    text = str(error)
    # "Tracer cannot infer type of <the module's repr>\n:<reason>": the reason is after it.
    reason = text.rsplit("\n:", 1)[-1] if "\n:" in text else text
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    reason = " ".join(lines[0].split()) if lines else type(error).__name__
    reason = reason.split(". ")[0].rstrip(".")  # the first sentence says it
    if len(reason) > _REASON_CHARS:
        reason = reason[: _REASON_CHARS - 3] + "..."
    hint = ""
    if strict and ("strict=False" in text or "infer" in reason.lower()):
        hint = "; if forward returns a dict or a list, pass use_strict_trace=False"
    return f"add_graph cannot trace {name}{where}: {reason}{hint}; nothing was written"


def _model_name(model: Any) -> str:
    import torch

    if isinstance(model, torch.nn.Module):
        return type(model).__name__
    return str(getattr(model, "__name__", type(model).__name__))


# -- the graph -----------------------------------------------------------------------


class _Builder:
    """Turns an inlined trace into nodes: one per operation, parameter, input and output."""

    def __init__(self, model: Any) -> None:
        import torch

        self.root = _model_name(model)
        is_module = isinstance(model, torch.nn.Module)
        self.modules: dict[str, Any] = dict(model.named_modules()) if is_module else {}
        self.parameters = {n for n, _ in model.named_parameters()} if is_module else set()
        self.nodes: list[graph_pb2.NodeDef] = []
        self.taken: set[str] = set()
        self.scopes: dict[str, str] = {"": self.root}
        self.producer: dict[int, str] = {}  # a value's id -> the input string that names it
        self.constants: dict[int, Any] = {}  # folded constants, by value id
        self.module_values: dict[int, str] = {}  # values that are modules -> their path
        self.attribute_nodes: dict[str, str] = {}  # parameter path -> its node's name
        self.schemas: dict[str, list[str]] = {}

    def build(self, graph: Any) -> list[graph_pb2.NodeDef]:
        for value in graph.inputs():
            if value.type().kind() == "ClassType":
                self.module_values[value.unique()] = ""
            else:
                self._io_node(f"input/{_plain_name(value.debugName())}", value, [])
        for node in graph.nodes():
            self._node(node)
        for number, value in enumerate(graph.outputs(), start=1):
            source = self.producer.get(value.unique())
            self._io_node(f"output/output.{number}", value, [source] if source else [])
        return self.nodes

    # -- kinds of nodes ----------------------------------------------------------

    def _node(self, node: Any) -> None:
        kind = node.kind()
        if kind == "prim::GetAttr":
            self._get_attr(node)
        elif kind == "prim::Constant" and node.output().type().kind() != "TensorType":
            self.constants[node.output().unique()] = node.output().toIValue()
        elif kind in _CONTAINERS and all(v.unique() in self.constants for v in node.inputs()):
            self.constants[node.output().unique()] = [
                self.constants[v.unique()] for v in node.inputs()
            ]
        else:
            self._operation(node, kind)

    def _get_attr(self, node: Any) -> None:
        owner = self.module_values.get(node.input().unique())
        output = node.output()
        if owner is None:  # an attribute of something that is not a module: keep it as an op
            self._operation(node, node.kind())
            return
        name = node.s("name")
        path = f"{owner}.{name}" if owner else name
        if output.type().kind() == "ClassType":
            self.module_values[output.unique()] = path
            return
        existing = self.attribute_nodes.get(path)
        if existing is None:
            existing = self._attribute_node(owner, name, path)
        self.producer[output.unique()] = existing

    def _attribute_node(self, owner: str, name: str, path: str) -> str:
        """The node of a parameter, buffer or tensor attribute (one per attribute)."""
        value = getattr(self.modules.get(owner), name, None)
        op = "Parameter" if path in self.parameters else "Buffer"
        node = graph_pb2.NodeDef(name=self._unique(f"{self._scope(owner)}/{name}"), op=op)
        node.attr["_param"].s = path.encode()
        shape, dtype = _tensor_shape_type(value)
        node.attr["_output_shapes"].list.shape.append(shape)
        node.attr["_output_types"].list.type.append(dtype)
        requires_grad = getattr(value, "requires_grad", None)
        if requires_grad is not None:
            node.attr["requires_grad"].b = bool(requires_grad)
        self.nodes.append(node)
        self.attribute_nodes[path] = node.name
        return node.name

    def _operation(self, node: Any, kind: str) -> None:
        path = _module_path(node.scopeName())
        scope = self._scope(path)
        short = kind.split("::")[-1].strip("_") or "op"
        made = graph_pb2.NodeDef(name=self._unique(f"{scope}/{short}"), op=kind)
        names = self._argument_names(node)
        for number, value in enumerate(node.inputs()):
            key = value.unique()
            if key in self.constants:
                label = names[number] if number < len(names) else f"input{number}"
                _set_constant(made.attr, label, self.constants[key])
            elif key in self.producer:
                made.input.append(self.producer[key])
        if kind == "prim::Constant" and _has_tensor_value(node):  # a tensor constant
            _set_small_tensor(made.attr, node.t("value"))
        module = self.modules.get(path)
        if module is not None:
            made.attr["_module"].s = path.encode()
            cls = type(module)
            made.attr["_module_class"].s = f"{cls.__module__}.{cls.__qualname__}".encode()
        self._outputs(made, node.outputs())
        self.nodes.append(made)

    def _io_node(self, name: str, value: Any, inputs: list[str]) -> None:
        made = graph_pb2.NodeDef(name=self._unique(name), op=_IO_OP, input=inputs)
        self._outputs(made, [value] if not inputs else [])
        if inputs:  # an output node shows the shape of what it returns
            shape, dtype = _value_shape_type(value)
            made.attr["_output_shapes"].list.shape.append(shape)
            made.attr["_output_types"].list.type.append(dtype)
        self.nodes.append(made)

    def _outputs(self, made: graph_pb2.NodeDef, values: Any) -> None:
        outputs = list(values)
        for slot, value in enumerate(outputs):
            self.producer[value.unique()] = made.name if slot == 0 else f"{made.name}:{slot}"
        if outputs:
            shapes = made.attr["_output_shapes"].list.shape
            types = made.attr["_output_types"].list.type
            for value in outputs:
                shape, dtype = _value_shape_type(value)
                shapes.append(shape)
                types.append(dtype)

    # -- names -------------------------------------------------------------------

    def _scope(self, path: str) -> str:
        """``Net/Sequential[features]/Conv2d[0]`` for the module path ``features.0``."""
        found = self.scopes.get(path)
        if found is not None:
            return found
        parent, _, attribute = path.rpartition(".")
        module = self.modules.get(path)
        segment = f"{type(module).__name__}[{attribute}]" if module is not None else attribute
        found = f"{self._scope(parent)}/{segment}"
        self.scopes[path] = found
        return found

    def _unique(self, name: str) -> str:
        candidate, number = name, 0
        while candidate in self.taken:
            number += 1
            candidate = f"{name}_{number}"
        self.taken.add(candidate)
        return candidate

    def _argument_names(self, node: Any) -> list[str]:
        """The names of an operation's arguments, from its schema (``[]`` when it has none)."""
        import torch

        text = node.schema()
        if text not in self.schemas:
            try:
                names = [argument.name for argument in torch._C.parse_schema(text).arguments]
            except RuntimeError:  # "(no schema)" of prim:: operations
                names = []
            self.schemas[text] = names
        return self.schemas[text]


def _module_path(scope_name: str) -> str:
    """The module path of a JIT scope: ``__module.a/__module.a.b`` -> ``a.b``."""
    last = scope_name.rsplit("/", 1)[-1]
    if last.startswith("__module."):
        return last[len("__module.") :]
    return ""


def _plain_name(debug_name: str) -> str:
    """``x.1`` -> ``x``: the argument's name without the JIT's numbering."""
    base, _, number = debug_name.rpartition(".")
    return base if base and number.isdigit() else debug_name


def _value_shape_type(value: Any) -> tuple[tensor_pb2.TensorShapeProto, tensor_pb2.DataType]:
    """The shape (unknown dimensions as -1) and dtype the trace knows of a value."""
    kind = value.type()
    if kind.kind() != "TensorType":
        return tensor_pb2.TensorShapeProto(unknown_rank=True), DT.DT_INVALID
    sizes = kind.varyingSizes()
    dtype = _SCALAR_TYPES.get(str(kind.scalarType()), DT.DT_INVALID)
    if sizes is None:
        return tensor_pb2.TensorShapeProto(unknown_rank=True), dtype
    return tensors.shape_proto(tuple(-1 if size is None else size for size in sizes)), dtype


def _tensor_shape_type(value: Any) -> tuple[tensor_pb2.TensorShapeProto, tensor_pb2.DataType]:
    """The shape and dtype of a parameter or buffer (a tensor, or anything else)."""
    shape = getattr(value, "shape", None)
    if shape is None:
        return tensor_pb2.TensorShapeProto(unknown_rank=True), DT.DT_INVALID
    name = str(getattr(value, "dtype", "")).removeprefix("torch.")
    dtype = _SCALAR_TYPES.get(_DTYPE_NAMES.get(name, ""), DT.DT_INVALID)
    return tensors.shape_proto(tuple(int(size) for size in shape)), dtype


def _set_constant(attrs: Any, name: str, value: Any) -> None:
    """A constant argument as an attribute (``None`` arguments are left out)."""
    if value is None:
        return
    attr = attrs[name]
    if isinstance(value, bool):
        attr.b = value
    elif isinstance(value, int):
        attr.i = value
    elif isinstance(value, float):
        attr.f = value
    elif isinstance(value, str):
        attr.s = value.encode()
    elif isinstance(value, list | tuple) and value and all(type(v) is int for v in value):
        attr.list.i.extend(value)
    elif isinstance(value, list | tuple) and value and all(type(v) is float for v in value):
        attr.list.f.extend(value)
    elif isinstance(value, list | tuple) and value and all(type(v) is bool for v in value):
        attr.list.b.extend(value)
    else:
        attr.s = repr(value)[:_REASON_CHARS].encode()


def _set_small_tensor(attrs: Any, value: Any) -> None:
    """A tensor constant's value, when it is small enough to be worth showing."""
    try:
        array = value.detach().cpu().numpy()
    except (AttributeError, TypeError, RuntimeError):  # bfloat16 and friends: no numpy
        return
    if array.size <= _SMALL_TENSOR:
        attrs["value"].tensor.CopyFrom(tensors.to_tensor_proto(array))


def _has_tensor_value(node: Any) -> bool:
    return "value" in node.attributeNames() and node.kindOf("value") == "t"
