"""``SandboxStore``: what ``Sandbox`` and ``Simulator`` need of the store they run over.

A ``Store`` (the port: units of work) that also tells a harness when there is scheduled work,
shows each commit's events, and counts and lists what it holds. ``InMemoryStore``,
``SQLiteStore`` and ``PostgresStore`` are all ``SandboxStore`` s, and so is the simulator's
compact ``PackedStore``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Protocol

from reseller_plans.domain.events import Event
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus
from reseller_plans.ports import Store

__all__ = ["SandboxStore"]


class SandboxStore(Store, Protocol):
    """A ``Store`` a ``Sandbox`` can run over (``Sandbox(store=...)``)."""

    def add_listener(self, listener: Callable[[list[Event]], object]) -> None:
        """Call ``listener`` after each commit that wrote events, with those events in order."""
        ...

    def next_due_after(self, when: dt.datetime) -> dt.datetime | None:
        """The earliest instant strictly after ``when`` at which ``run_due`` finds scheduled
        work (a scheduled change, a term end, an alias hold's expiry); None if there is none."""
        ...

    def has_due_work(self, now: dt.datetime) -> bool:
        """Whether ``run_due(now)`` would find anything to do: a subscription due by ``now``, an
        unsent message, or an alias hold expired by ``now``."""
        ...

    def events(self, since: int = 0) -> list[Event]:
        """Every event in commit order, from position ``since`` on.

        Raises:
            InvalidInput: the store keeps no such log.
        """
        ...

    def iter_subscriptions(self) -> Iterator[Subscription]:
        """Every subscription, in the order they were created."""
        ...

    def census(self) -> dict[tuple[SubscriptionStatus, Plan], int]:
        """How many subscriptions are in each status on each plan (only those with some)."""
        ...
