"""The logging library: a drop-in ``SummaryWriter`` and the event-file writer under it."""

from stepscope.writer.event_file import EventFileWriter
from stepscope.writer.summary_writer import SummaryWriter

__all__ = ["EventFileWriter", "SummaryWriter"]
