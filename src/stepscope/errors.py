"""stepscope's errors: one base class, each subclass with the HTTP status it maps to.

Every message is one line that says what is wrong and what to do; the CLI
prints it as ``Error: <message>`` and the server turns it into its one JSON
error shape, so these are safe to show to a user.
"""

from __future__ import annotations


class StepscopeError(Exception):
    """Base class of every error stepscope raises on purpose."""

    http_status = 500


class UsageError(StepscopeError, ValueError):
    """The caller asked for something that cannot be done as asked."""

    http_status = 400


class NotFoundError(StepscopeError, LookupError):
    """A run, tag, file or logdir that does not exist."""

    http_status = 404


class UnprocessableError(StepscopeError, ValueError):
    """Data in the logdir that stepscope cannot turn into what was asked (an undecodable image)."""

    http_status = 422


class EventWriteError(StepscopeError, OSError):
    """Events could not be written to disk; they are kept for the next attempt."""

    http_status = 500
