"""The reconciler: what ``run_due`` does about calls that may have landed after a takeover.

A reconciliation of a subscription is asked for when a driver took its lease over from an owner
that never gave it back (``Ownership.take``: looked at once that owner's last call would have
ended) and when a driver finds, after a call, that its lease changed hands
(``Ownership.stale_call``: looked at at once). For each request that is due, the reconciler
takes the leases of the subscription and of its account's live subscription (if another), reads
what the Storefront and the BSS show for the account, asks the domain what to undo
(``domain.reconcile.repairs``), makes those calls through the saga driver, and records a
``Reconciled`` event on the subscription. A request whose subscriptions are busy, whose live
subscription is still being provisioned, or whose backends fail, is kept for later.
"""

from __future__ import annotations

import datetime as dt

import attrs

from reseller_plans.domain import reconcile
from reseller_plans.domain.errors import NotFound, SubscriptionBusy
from reseller_plans.domain.events import Reconciled
from reseller_plans.domain.evolve import evolve
from reseller_plans.domain.subscription import Subscription
from reseller_plans.logs import get_logger
from reseller_plans.ports import Lease
from reseller_plans.service.auditing import stamp
from reseller_plans.service.driver import SagaDriver, load
from reseller_plans.service.leases import LeaseLost
from reseller_plans.service.reports import DueFailure, Repaired

__all__ = ["Reconciler", "Reconciliations"]

logger = get_logger("service")

_BATCH = 50
_LATER = dt.timedelta(minutes=1)
"""How long a reconciliation that could not be made now waits."""


@attrs.frozen
class Reconciliations:
    """What one pass did: requests made, what they undid, and those that raised."""

    made: int = 0
    repaired: tuple[Repaired, ...] = ()
    failures: tuple[DueFailure, ...] = ()


class _Changed(Exception):
    """The account's subscriptions changed under the reconciliation: look again later."""


class Reconciler:
    """Makes the reconciliations that are due, through the saga driver's ports."""

    def __init__(self, driver: SagaDriver) -> None:
        self.driver = driver

    def run(self, now: dt.datetime) -> Reconciliations:
        """Make every reconciliation due at ``now`` (each at most once a run)."""
        with self.driver.store.unit_of_work() as uow:
            due = uow.due_reconciliations(now, _BATCH)
        made = 0
        repaired: list[Repaired] = []
        failures: list[DueFailure] = []
        for subscription_id, reason in due:
            try:
                found = self._reconcile(subscription_id, reason, now)
            except (_Changed, LeaseLost):
                self._postpone(subscription_id, reason, now)
                continue
            except Exception as exc:  # a backend down, a bug in an adapter: try again later
                logger.warning("reconciling %s failed: %s; kept for later", subscription_id, exc)
                retry_at = self._postpone(subscription_id, reason, now)
                error = f"reconciliation: {type(exc).__name__}: {exc}"[:500]
                failures.append(DueFailure(subscription_id, error, retry_at))
                continue
            if found is None:
                continue
            made += 1
            if found.repairs:
                repaired.append(found)
        return Reconciliations(made, tuple(repaired), tuple(failures))

    def _reconcile(self, subscription_id: str, reason: str, now: dt.datetime) -> Repaired | None:
        driver, ownership = self.driver, self.driver.ownership
        owner = ownership.new_owner()
        leases: list[Lease] = []
        try:
            with driver.store.unit_of_work() as uow:
                try:
                    sub = load(uow, subscription_id)
                except NotFound:
                    uow.finish_reconciliation(subscription_id, now=now)
                    return None
                live = uow.live_subscription_of(sub.account_id)
                if reconcile.must_wait(live):  # its saga decides; its lease is left alone
                    raise _Changed
                for sid in dict.fromkeys((sub.id, *(() if live is None else (live.id,)))):
                    leases.append(ownership.take(uow, sid, owner))
        except SubscriptionBusy:
            return None  # a driver is at work on it: the request stays due
        try:
            self._renew(leases)
            storefront = driver.storefront.storefront_status(sub.account_id)
            self._renew(leases)
            licensed = driver.bss.licensed_plan(sub.account_id)
            todo = reconcile.repairs(live, storefront, licensed)
            if todo is None:  # pragma: no cover - must_wait said so above
                raise _Changed
            self._unchanged(sub, live)
            for action in todo:
                self._renew(leases)
                driver.repair(sub, action)
            with driver.store.unit_of_work() as uow:
                for lease in leases:
                    ownership.renew_in(uow, lease)
                uow.finish_reconciliation(subscription_id, now=now)
                if todo:
                    done = ",".join(a.value for a in todo)
                    event = Reconciled(sub.id, now, sub.account_id, done, reason)
                    after = evolve(sub, version=sub.version + 1)
                    uow.save(after, stamp((event,)), expected_version=sub.version)
                    logger.warning("reconciled %s: %s (%s)", sub.account_id, done, reason)
            return Repaired(sub.id, sub.account_id, todo)
        finally:
            for lease in leases:
                ownership.release(lease)

    def _renew(self, leases: list[Lease]) -> None:
        """Renew each lease that could not cover one more call (``LeaseLost`` if one changed
        hands: nothing more is done)."""
        leases[:] = [self.driver.ownership.before_call(lease) for lease in leases]

    def _unchanged(self, sub: Subscription, live: Subscription | None) -> None:
        """Refuse to repair on what the reads began with, if the account's subscriptions
        changed meanwhile (a new one for the account, one moved on)."""
        with self.driver.store.unit_of_work() as uow:
            now_live = uow.live_subscription_of(sub.account_id)
            stored = uow.get(sub.id)
        if (stored is None or stored.version != sub.version) or (
            (None if now_live is None else (now_live.id, now_live.version))
            != (None if live is None else (live.id, live.version))
        ):
            raise _Changed

    def _postpone(self, subscription_id: str, reason: str, now: dt.datetime) -> dt.datetime:
        later = now + _LATER
        with self.driver.store.unit_of_work() as uow:
            uow.finish_reconciliation(subscription_id, now=now)
            uow.request_reconciliation(subscription_id, at=later, reason=reason)
        return later
