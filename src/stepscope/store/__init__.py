"""The persistent index of a logdir and the one data interface everything reads through."""

from stepscope.store.index import VIEWS, Index, UpdateReport, default_index_path

__all__ = ["VIEWS", "Index", "UpdateReport", "default_index_path"]
