"""Correlation ids: one id that ties together everything one request of the host did.

A host that has an id for the request it is serving (a web request's ``X-Request-Id``, a job's
id) passes it with :func:`correlate`; every command called inside the block records it in the
audit of the events it writes, the library's log records carry it (``record.correlation_id``),
and the errors it raises carry it (``ResellerPlansError.correlation_id``). A command called
outside such a block mints one of its own (``cor_`` and 32 hex digits) for the same purposes.

The id lives in a :mod:`contextvars` variable: it follows the code of one thread, or of one
asyncio task, and never leaks into another.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from reseller_plans.domain.audit import check_correlation_id, new_correlation_id

__all__ = ["correlate", "current_correlation_id", "new_correlation_id"]

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "reseller_plans_correlation_id", default=None
)


def current_correlation_id() -> str | None:
    """The correlation id of the block the caller is in, or None outside any."""
    return _current.get()


@contextmanager
def correlate(correlation_id: str | None = None) -> Iterator[str]:
    """Record ``correlation_id`` (a fresh one, for None) with everything done in the block.

    Example::

        with correlate(request.headers.get("x-request-id")):
            plans.upgrade("3542", "standard", actor=actor, alias="acme")

    Yields:
        The correlation id in force.

    Raises:
        InvalidInput: not 1 to 128 printable ASCII characters without spaces.
    """
    value = new_correlation_id() if correlation_id is None else check_correlation_id(correlation_id)
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)
