"""The audit of the call in progress, and the stamping of the events it records.

A command runs inside :func:`acting`: its actor, idempotency key and reason, under the host's
correlation id (``reseller_plans.correlate``) or one minted for the call. Every place that
records events passes them through :func:`stamp` first, so each stored event carries the audit
of the call that caused it; work done outside any command (``run_due``) is the system's. An
error raised out of the call carries its correlation id.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import attrs

from reseller_plans.correlation import correlate, current_correlation_id
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.audit import Audit
from reseller_plans.domain.errors import ResellerPlansError
from reseller_plans.domain.events import Event

__all__ = ["acting", "current_audit", "stamp"]

_audit: contextvars.ContextVar[Audit | None] = contextvars.ContextVar(
    "reseller_plans_audit", default=None
)


def current_audit() -> Audit:
    """The audit of the call in progress (the system's, under the current correlation id,
    outside any command)."""
    audit = _audit.get()
    return audit if audit is not None else Audit.system(current_correlation_id())


@contextmanager
def acting(
    actor: Actor | None, *, key: str | None = None, reason: str | None = None
) -> Iterator[Audit]:
    """Run the block as one call by ``actor`` (None: the system's due work).

    The block's log records and the events it records carry the call's correlation id: the
    host's, or a fresh one. A ``ResellerPlansError`` raised out of it carries it too.
    """
    with correlate(current_correlation_id()) as correlation_id:
        if actor is None:
            audit = Audit.system(correlation_id, reason=reason)
        else:
            audit = Audit.of(actor, correlation_id, idempotency_key=key, reason=reason)
        token = _audit.set(audit)
        try:
            yield audit
        except ResellerPlansError as exc:
            if exc.correlation_id is None:
                exc.correlation_id = correlation_id
            raise
        finally:
            _audit.reset(token)


def stamp(events: Iterable[Event]) -> list[Event]:
    """The events, each with the audit of the call in progress unless it has one already."""
    audit = current_audit()
    return [e if e.audit is not None else attrs.evolve(e, audit=audit) for e in events]
