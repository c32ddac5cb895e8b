"""One owner at a time: the leases a driver call holds on the subscription it drives.

The owner of a lease is one driver call (a command, one ``run_due`` item, one bulk row), not a
process: :meth:`Ownership.new_owner` names a fresh one for each. A lease is taken in the same
unit of work as the command's first write, renewed in the unit of work that records each step's
outcome (which also refuses the outcome if the lease changed hands: the generation is the
fencing token), and renewed before a call that could outlast it, so a call never runs past its
lease. A subscription another live driver holds is busy: a command waits a bounded time, then
raises ``SubscriptionBusy``; ``run_due`` skips it and comes back later.

Lease times are the ``Clock``'s. Two processes' clocks may differ by at most ``margin``: a
lease is refused at construction unless it outlasts the longest step (``step_deadline``) by it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import attrs

from reseller_plans.domain.errors import InvalidInput, SubscriptionBusy
from reseller_plans.ports import Clock, Lease, Store, UnitOfWork

__all__ = ["STALE_CALL", "TAKEN_OVER", "LeaseLost", "LeaseSettings", "Ownership"]

TAKEN_OVER = "lease taken over from an owner that never gave it back"
STALE_CALL = "a call finished after its lease had changed hands"

_T = TypeVar("_T")


class LeaseLost(Exception):
    """The lease changed hands: this driver's outcome is refused and it stops."""


@attrs.frozen
class LeaseSettings:
    """How long drivers own what they drive.

    Attributes:
        lease: how long a lease lasts unless renewed.
        step_deadline: the longest one saga step may take, all attempts and waits included;
            ``ResellerPlans`` refuses an adapter whose call ``deadline`` is longer.
        margin: what is left of a lease when a step ends: covers the clock skew between
            processes.
        busy_timeout: how long a command waits for a subscription another driver holds.
        outbox_claim: how long a message's claim lasts (longer than the mailer's timeout).
    """

    lease: dt.timedelta = dt.timedelta(minutes=5)
    step_deadline: dt.timedelta = dt.timedelta(minutes=2)
    margin: dt.timedelta = dt.timedelta(seconds=30)
    busy_timeout: dt.timedelta = dt.timedelta(seconds=5)
    outbox_claim: dt.timedelta = dt.timedelta(minutes=2)

    def __attrs_post_init__(self) -> None:
        if self.step_deadline <= dt.timedelta(0) or self.margin < dt.timedelta(0):
            raise InvalidInput("step_deadline must be positive and margin not negative")
        if self.lease < self.step_deadline + self.margin:
            raise InvalidInput(
                f"a lease of {self.lease} is too short: it must outlast the longest step "
                f"({self.step_deadline}) by the margin ({self.margin})"
            )
        if self.busy_timeout < dt.timedelta(0) or self.outbox_claim <= dt.timedelta(0):
            raise InvalidInput("busy_timeout must not be negative, outbox_claim positive")


class Ownership:
    """Takes, renews and gives up leases for the synchronous drivers."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: LeaseSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self._sleep = sleep
        self._prefix = uuid.uuid4().hex[:12]
        self._calls = itertools.count(1)

    def new_owner(self) -> str:
        """A name for one driver call, unique across processes."""
        return f"{self._prefix}-{next(self._calls)}"

    def take(self, uow: UnitOfWork, subscription_id: str, owner: str) -> Lease:
        """Take (or renew) the lease in ``uow``.

        Raises:
            SubscriptionBusy: another live driver holds it.
        """
        now = self.clock.now()
        lease = uow.take_lease(subscription_id, owner, now=now, until=now + self.settings.lease)
        if lease is None:
            raise SubscriptionBusy(subscription_id)
        if lease.taken_over:
            # Its last owner never gave it back: a call of its may still land. Look again
            # once such a call, had that owner kept running, would have ended.
            at = now + self.settings.lease
            uow.request_reconciliation(subscription_id, at=at, reason=TAKEN_OVER)
        return lease

    def stale_call(self, subscription_id: str) -> None:
        """Note that this driver's call acted after its lease changed hands: reconcile now."""
        with self.store.unit_of_work() as uow:
            uow.request_reconciliation(subscription_id, at=self.clock.now(), reason=STALE_CALL)

    def renew_in(self, uow: UnitOfWork, lease: Lease) -> Lease:
        """Renew the lease in the unit of work that records an outcome.

        Raises:
            LeaseLost: it changed hands (the unit of work must roll back).
        """
        now = self.clock.now()
        until = now + self.settings.lease
        renewed = uow.take_lease(lease.subscription_id, lease.owner, now=now, until=until)
        if renewed is None or renewed.generation != lease.generation:
            raise LeaseLost(lease.subscription_id)
        return renewed

    def before_call(self, lease: Lease) -> Lease:
        """The lease, renewed first if what is left of it could not cover a whole step.

        Raises:
            LeaseLost: it changed hands meanwhile.
        """
        needed = self.settings.step_deadline + self.settings.margin
        if lease.until - self.clock.now() >= needed:
            return lease
        with self.store.unit_of_work() as uow:
            return self.renew_in(uow, lease)

    def release(
        self, lease: Lease, *, failure: str | None = None, retry_at: dt.datetime | None = None
    ) -> None:
        """Give the lease up (noting a failure of due work, if any)."""
        with self.store.unit_of_work() as uow:
            uow.release_lease(lease, failure=failure, retry_at=retry_at)

    def waiting(self, attempt: Callable[[], _T]) -> _T:
        """Run a command, again while its subscription is busy, for at most ``busy_timeout``.

        A busy attempt has written nothing, so running it again is safe.

        Raises:
            SubscriptionBusy: still busy when the time is up.
        """
        deadline = time.monotonic() + self.settings.busy_timeout.total_seconds()
        pause = 0.01
        while True:
            try:
                return attempt()
            except SubscriptionBusy:
                if time.monotonic() + pause > deadline:
                    raise
            self._sleep(pause)
            pause = min(pause * 2, 0.25)
