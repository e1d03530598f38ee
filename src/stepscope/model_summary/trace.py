"""One forward (and backward) pass of a model, recorded call by call.

Every module gets a pre-hook and an always-called forward hook; a dispatch
mode sees every aten operation in between. Each module *call* is a
:class:`Layer` (a module run three times in a loop is three layers, each with
its own shapes and cost), placed under the call it ran in. Operations are
charged to the innermost call running, so a parameter-free ``torch.matmul``
in a ``forward`` counts where it happens. Modules that never ran as a call
(a ``ModuleList``, an ``out_proj`` whose weights a fused kernel uses
directly) still get a row, under their parent.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from stepscope.model_summary.allocate import PRODUCTS, allocated_like, without_arithmetic
from stepscope.model_summary.flops import mult_adds, other_ops
from stepscope.model_summary.memory import StorageMeter


@dataclass(eq=False)
class Layer:
    """One row of a summary: a call of a module, or a module that was not called."""

    class_name: str
    name: str  # qualified name in the model ("layers.0.linear1"); "" for the model itself
    depth: int
    module: Any = field(repr=False)
    parent: Layer | None = field(default=None, repr=False)
    children: list[Layer] = field(default_factory=list, repr=False)
    call: int = 0  # 1 for a module's first call, 2 for its second...; 0 if never called
    input_shapes: list[list[int]] = field(default_factory=list)
    output_shapes: list[list[int]] = field(default_factory=list)
    output_bytes: int = 0
    macs: int = 0  # multiply-adds run in this call itself (not in its children)
    other_ops: int = 0
    error: BaseException | None = field(default=None, repr=False)
    done: bool = False
    # Filled in after the pass (see assign_parameters):
    params: int = 0  # parameters counted in this row (a parameter counts in one row only)
    trainable_params: int = 0
    own_params: int = 0  # the module's direct parameters, counted here or not
    own_trainable: int = 0
    shared_from: str = ""  # where its parameters were counted, when not here
    depth_index: int = 0

    @property
    def var_name(self) -> str:
        return self.name.rsplit(".", 1)[-1] if self.name else self.class_name

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self) -> Iterator[Layer]:
        """This layer and every layer below it, in display order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def subtree(self, attribute: str) -> int:
        return sum(int(getattr(layer, attribute)) for layer in self.walk())


def shapes_of(value: Any) -> list[list[int]]:
    """The shapes of the tensors in ``value`` (nested tuples, lists, dicts and dataclass-like outputs)."""
    found: list[list[int]] = []
    _collect(value, lambda t: found.append(list(t.shape)), depth=0)
    return found


def tensors_in(value: Any) -> list[torch.Tensor]:
    found: list[torch.Tensor] = []
    _collect(value, found.append, depth=0)
    return found


def _collect(value: Any, add: Any, depth: int) -> None:
    if depth > 8:
        return
    if isinstance(value, torch.Tensor):
        add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, add, depth + 1)
    elif isinstance(value, (tuple, list)):
        for item in value:
            _collect(item, add, depth + 1)
    elif hasattr(value, "__dataclass_fields__"):  # Hugging Face ModelOutput and friends
        for name in value.__dataclass_fields__:
            _collect(getattr(value, name, None), add, depth + 1)


class Tracer(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Records the calls of ``model``'s modules and what each costs, while active."""

    def __init__(self, model: Any, meter: StorageMeter | None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.model = model
        self.meter = meter
        # Costs are counted in the forward pass only. Without arithmetic,
        # every operation allocates its results without computing them (see
        # allocate.py); otherwise only the backward pass's matrix products do.
        self.in_backward = False
        self.without_arithmetic = False
        self.root: Layer | None = None
        self.stack: list[Layer] = []
        self.names: dict[int, list[str]] = {}
        for name, module in model.named_modules(remove_duplicate=False):
            self.names.setdefault(id(module), []).append(name)
        self.calls: dict[int, int] = {}
        self._handles: list[Any] = []

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if self.without_arithmetic:
            out = without_arithmetic(func, args, kwargs)
        elif self.in_backward and func.overloadpacket in PRODUCTS:
            out = allocated_like(func, args, kwargs)
        else:
            out = func(*args, **kwargs)
        if not self.in_backward and self.stack:
            layer = self.stack[-1]
            layer.macs += mult_adds(func, args, kwargs, out)
            layer.other_ops += other_ops(func, args, out)
        if self.meter is not None:
            self.meter.see(out)
        return out

    def attach(self) -> None:
        """Hook every module of the model (each once, however many names it has)."""
        for module in self.model.modules():
            self._handles.append(module.register_forward_pre_hook(self._enter, with_kwargs=True))
            self._handles.append(module.register_forward_hook(self._leave, always_call=True))

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _enter(self, module: Any, args: Any, kwargs: Any) -> None:
        parent = self.stack[-1] if self.stack else None
        layer = self._call_layer(module, parent)
        layer.input_shapes = shapes_of((args, kwargs))
        self.stack.append(layer)

    def _leave(self, module: Any, args: Any, output: Any) -> None:
        while self.stack:
            layer = self.stack.pop()
            if layer.module is module:
                break
        else:
            return
        error = sys.exc_info()[1]
        if output is None and error is not None:
            layer.error = error
            return
        tensors = tensors_in(output)
        layer.output_shapes = [list(t.shape) for t in tensors]
        layer.output_bytes = sum(int(t.numel()) * t.element_size() for t in tensors)
        layer.done = True

    def _call_layer(self, module: Any, parent: Layer | None) -> Layer:
        key = id(module)
        self.calls[key] = call = self.calls.get(key, 0) + 1
        names = self.names.get(key) or [type(module).__name__]
        if parent is None:
            layer = Layer(type(module).__name__, names[0], 0, module, call=call)
            if self.root is None:
                self.root = layer
            return layer
        prefix = f"{parent.name}." if parent.name else ""
        inside = [name for name in names if name.startswith(prefix)]
        name = inside[0] if inside else names[0]
        holder = self._containers(parent, name[len(prefix) :]) if inside else parent
        layer = Layer(type(module).__name__, name, holder.depth + 1, module, holder, call=call)
        holder.children.append(layer)
        return layer

    def _containers(self, parent: Layer, relative: str) -> Layer:
        """Rows for the never-called containers between a call and its caller (a ModuleList)."""
        holder = parent
        parts = relative.split(".")[:-1]
        for index in range(len(parts)):
            name = ".".join(filter(None, [parent.name, *parts[: index + 1]]))
            last = holder.children[-1] if holder.children else None
            if last is not None and last.name == name and last.call == 0:
                holder = last
                continue
            module = self.model.get_submodule(name)
            container = Layer(type(module).__name__, name, holder.depth + 1, module, holder)
            holder.children.append(container)
            holder = container
        return holder


def add_uncalled(model: Any, root: Layer | None) -> Layer:
    """Give every module that never ran a row under its parent's first row; the tree's root."""
    if root is None:
        root = Layer(type(model).__name__, "", 0, model)
    first: dict[str, Layer] = {}
    for layer in root.walk():
        first.setdefault(layer.name, layer)
    for name, module in model.named_modules(remove_duplicate=False):
        if name in first:
            continue
        parent = first[name.rsplit(".", 1)[0] if "." in name else ""]
        layer = Layer(type(module).__name__, name, parent.depth + 1, module, parent)
        parent.children.append(layer)
        first[name] = layer
    return root


def assign_parameters(root: Layer) -> None:
    """Count each parameter in the first row (in display order) whose module holds it."""
    counted_at: dict[int, str] = {}
    for layer in root.walk():
        for param_name, param in layer.module.named_parameters(recurse=False):
            size = int(param.numel())
            layer.own_params += size
            layer.own_trainable += size if param.requires_grad else 0
            where = counted_at.get(id(param))
            if where is None:
                counted_at[id(param)] = f"{layer.name}.{param_name}".lstrip(".")
                layer.params += size
                layer.trainable_params += size if param.requires_grad else 0
            elif not layer.shared_from:
                layer.shared_from = where


def number_rows(root: Layer) -> None:
    """torchinfo's ``depth-idx``: the row's rank among the rows at its depth."""
    counts: dict[int, int] = {}
    for layer in root.walk():
        counts[layer.depth] = counts.get(layer.depth, 0) + 1
        layer.depth_index = counts[layer.depth]
