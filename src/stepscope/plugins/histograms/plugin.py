"""The histograms kind as two dashboard plugins: histograms and distributions.

Both read the same tags (plugin ``histograms``) through ``/api/tensors``:
TensorBoard's distributions dashboard is a second view of histograms.
"""

from stepscope.plugins.base import Plugin

PLUGIN = Plugin(name="histograms", title="Histograms", order=70, page="builtin:histograms")
DISTRIBUTIONS = Plugin(
    name="distributions",
    title="Distributions",
    order=60,
    claims=("histograms",),
    page="builtin:distributions",
)
