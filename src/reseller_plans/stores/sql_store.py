"""``SQLStore``: the base class of the SQL stores (SQLite and PostgreSQL).

It answers the questions a test harness asks of a whole store (what
``reseller_plans.testing.SandboxStore`` names: when is there scheduled work, every event,
every subscription, a census) with queries over the indexed columns, each in a unit of work of
its own, and shows each commit's events to listeners once the commit is done.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from reseller_plans.domain.events import Event
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus
from reseller_plans.ports import AliasHold
from reseller_plans.stores.sql import SQLUnitOfWork

__all__ = ["SQLStore"]


class SQLStore:
    """The part of the SQL stores that answers a test harness (``SandboxStore``): each query
    runs in a unit of work of its own. A subclass opens the units of work and calls
    :meth:`_committed` after each commit."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[list[Event]], object]] = []

    def unit_of_work(self) -> AbstractContextManager[SQLUnitOfWork]:
        """One transaction (each SQL store opens its own)."""
        raise NotImplementedError

    def _committed(self, uow: SQLUnitOfWork) -> None:
        """Show the events a committed unit of work wrote to every listener (each sees them
        even when one before it raises; then the first error is raised)."""
        if not uow.written:
            return
        error: Exception | None = None
        for listener in self._listeners:
            try:
                listener(list(uow.written))
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error

    def add_listener(self, listener: Callable[[list[Event]], object]) -> None:
        """Call ``listener`` after each commit that wrote events, with those events in order."""
        self._listeners.append(listener)

    def next_due_after(self, when: dt.datetime) -> dt.datetime | None:
        """The earliest instant strictly after ``when`` at which ``run_due`` finds scheduled
        work (a scheduled change, a term end, an alias hold's expiry); None if there is none."""
        with self.unit_of_work() as uow:
            return uow.next_due_after(when)

    def has_due_work(self, now: dt.datetime) -> bool:
        """Whether ``run_due(now)`` would find anything to do: a subscription due by ``now``, an
        unsent message, or an alias hold expired by ``now``."""
        with self.unit_of_work() as uow:
            return uow.has_due_work(now)

    def events(self, since: int = 0) -> list[Event]:
        """Every event of every subscription in commit order, from position ``since`` on."""
        with self.unit_of_work() as uow:
            return uow.all_events()[since:]

    def subscriptions(self) -> list[Subscription]:
        """Every subscription, in the order they were created."""
        with self.unit_of_work() as uow:
            return uow.all_subscriptions()

    def iter_subscriptions(self) -> Iterator[Subscription]:
        """Every subscription, in the order they were created (read at once)."""
        return iter(self.subscriptions())

    def census(self) -> dict[tuple[SubscriptionStatus, Plan], int]:
        """How many subscriptions are in each status on each plan (only those with some)."""
        return dict(Counter((s.status, s.plan) for s in self.subscriptions()))

    def alias_holds(self) -> list[AliasHold]:
        """Every alias hold, ordered by alias."""
        with self.unit_of_work() as uow:
            return uow.all_alias_holds()
