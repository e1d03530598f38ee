"""The text ``add_*`` methods of ``SummaryWriter``: Markdown text and custom-scalar layouts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stepscope.plugins.custom_scalars.summary import LayoutDict, layout_value
from stepscope.plugins.text.summary import text_value
from stepscope.writer.emitter import SummaryEmitter


class TextSummaries(SummaryEmitter):
    """Markdown text, and the layout of the custom-scalars dashboard."""

    def add_text(
        self, tag: str, text_string: str, global_step: Any = None, walltime: float | None = None
    ) -> None:
        """Log Markdown text (shown under ``<tag>/text_summary``, as torch names it)."""
        self._emit([text_value(tag, text_string)], global_step, walltime)

    # -- custom scalars -------------------------------------------------------

    def add_custom_scalars(self, layout: LayoutDict) -> None:
        """Lay out a custom-scalars dashboard (torch's dict form; see the docs)."""
        self._emit([layout_value(layout)], None, None)

    def add_custom_scalars_multilinechart(
        self, tags: Sequence[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """One chart drawing several tags (each may be a regex)."""
        self.add_custom_scalars({category: {title: ["Multiline", list(tags)]}})

    def add_custom_scalars_marginchart(
        self, tags: Sequence[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """One chart drawing a value with a lower and an upper band: tags (value, lower, upper)."""
        if len(tags) != 3:
            raise ValueError(f"a margin chart takes 3 tags (value, lower, upper), got {len(tags)}")
        self.add_custom_scalars({category: {title: ["Margin", list(tags)]}})
