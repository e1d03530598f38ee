"""The graph ``add_*`` methods of ``SummaryWriter``: a traced torch model, an ONNX file.

Both write what TensorBoard's graph plugin reads: an ``Event.graph_def``
(and, for ``add_graph``, the ``step1`` run metadata torch writes beside it).
The graph is built on the caller's thread, so a model that cannot be traced
raises right at the call, and nothing is written.
"""

from __future__ import annotations

import os
from typing import Any

from stepscope.plugins.graphs.summary import graph_event, run_metadata_event
from stepscope.writer.emitter import SummaryEmitter
from stepscope.writer.encoding import message_event

#: The tag of the run metadata torch writes with each graph.
RUN_METADATA_TAG = "step1"


class GraphSummaries(SummaryEmitter):
    """Model graphs (``add_graph``) and ONNX graphs (``add_onnx_graph``)."""

    def add_graph(
        self,
        model: Any,
        input_to_model: Any = None,
        verbose: bool = False,
        use_strict_trace: bool = True,
    ) -> None:
        """Log the graph of a torch model, traced with ``torch.jit.trace`` on ``input_to_model``.

        Nodes are named by the module tree (``Net/Sequential[features]/Conv2d[0]/convolution``)
        and carry output shapes and dtypes, the module's path and class, and
        parameters as nodes with their names and shapes (``docs/graphs.md``).
        ``use_strict_trace=False`` lets ``forward`` return a dict or a list.

        Example: ``writer.add_graph(net, images)``

        Raises ``stepscope.errors.UsageError`` (one line: the module and the tracer's
        reason) when the model cannot be traced; then nothing is written.
        """
        from stepscope.plugins.graphs.torch_graph import trace_graph

        graph, run_metadata = trace_graph(model, input_to_model, verbose, use_strict_trace)
        writer = self._get_file_writer()
        writer.add_event_bytes(message_event(graph_event(graph)))
        writer.add_event_bytes(message_event(run_metadata_event(RUN_METADATA_TAG, run_metadata)))

    def add_onnx_graph(self, onnx_model_file: str | os.PathLike[str]) -> None:
        """Log the graph of an ONNX model file (needs ``pip install 'stepscope[onnx]'``).

        Example: ``writer.add_onnx_graph("model.onnx")``
        """
        from stepscope.plugins.graphs.onnx_graph import onnx_graph_def

        graph = onnx_graph_def(onnx_model_file)
        self._get_file_writer().add_event_bytes(message_event(graph_event(graph)))
