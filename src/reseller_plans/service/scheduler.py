"""The due-work scheduler: what ``run_due`` does.

It asks the store which subscriptions are due (the store indexes ``schedule.due_at``), and for
each the domain what to do (``schedule.next_work``): drive the operation in progress, start a
scheduled cancellation or plan change, renew the term, or expire it. It works on a subscription
until nothing more is due for it at ``now``; one whose work cannot progress now (its backend is
down) is left for the next run. Then it makes the reconciliations that are due
(``service.reconciler``), releases alias holds whose period ended, sends the outbox, and
delivers the feed to the webhook endpoints when it was given a notifier.

Each subscription is worked on alone, under a lease of its own: one that another driver holds
is skipped (``busy``), and one whose work raises anything unexpected (a conflict, a bug in an
adapter, a record that cannot be read) is noted in the store and backed off, and reported in
``DueReport.failures``; the rest of the batch goes on.
"""

from __future__ import annotations

import datetime as dt

from reseller_plans.domain import lifecycle, saga
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.deliveries import DeliveryState
from reseller_plans.domain.errors import (
    ResellerPlansError,
    SubscriptionBusy,
    TransientBackendError,
)
from reseller_plans.domain.lifecycle import Context, Trigger
from reseller_plans.domain.messages import MessageStatus
from reseller_plans.domain.schedule import DueWork, applicable_change, next_work
from reseller_plans.domain.subscription import OperationKind, Subscription
from reseller_plans.logs import get_logger
from reseller_plans.service.auditing import acting, stamp
from reseller_plans.service.deliveries import Notifier, delivery_log
from reseller_plans.service.driver import Held, SagaDriver
from reseller_plans.service.reconciler import Reconciler
from reseller_plans.service.reports import DueFailure, DueReport

__all__ = ["Scheduler"]

logger = get_logger("service")

_BATCH = 200
_BACKOFF = dt.timedelta(minutes=5)
"""How long a subscription whose due work raised waits before the next try."""
_MAX_WORK = 64 * 16  # units of work on one subscription in one run: a guard, never reached


class Scheduler:
    """Runs what is due, through the saga driver."""

    def __init__(self, driver: SagaDriver, webhooks: Notifier | None = None) -> None:
        self.driver = driver
        self.reconciler = Reconciler(driver)
        self.webhooks = webhooks

    def run_due(self, now: dt.datetime) -> DueReport:
        """Do everything that is due at ``now``, as the system (its events' audit)."""
        with acting(None):
            return self._run_due(now)

    def _run_due(self, now: dt.datetime) -> DueReport:
        store = self.driver.store
        touched = renewals = busy = 0
        failures: list[DueFailure] = []
        stuck: set[str] = set()  # due, but nothing could be done now (left for the next run)
        while True:
            with store.unit_of_work() as uow:
                due = [sid for sid in uow.due(now, limit=_BATCH + len(stuck)) if sid not in stuck]
            if not due:
                break
            for sid in due:
                stuck.add(sid)  # at most once a run, whatever happens
                outcome = self._isolated(sid, now)
                if outcome is None:
                    busy += 1
                elif isinstance(outcome, DueFailure):
                    touched += 1
                    failures.append(outcome)
                else:
                    touched += 1
                    progressed, renewed = outcome
                    renewals += renewed
                    if progressed:
                        stuck.discard(sid)
        reconciled = self.reconciler.run(now)
        released = self._release_expired_aliases(now)
        tally = self.driver.outbox.send_all()
        with store.unit_of_work() as uow:
            refused_so_far = uow.count_outbox(MessageStatus.FAILED)
        webhooks = self._deliver_webhooks()
        return DueReport(
            subscriptions=touched, renewals=renewals, emails_sent=tally.sent,
            emails_failed=tally.waiting + tally.refused, aliases_released=released, busy=busy,
            failures=(*failures, *reconciled.failures), reconciled=reconciled.made,
            repaired=reconciled.repaired, emails_refused=tally.refused,
            messages_failed=refused_so_far, **webhooks,
        )  # fmt: skip

    def _deliver_webhooks(self) -> dict[str, int]:
        """Deliver the feed to the endpoints, if there are any: the report's webhook counts."""
        if self.webhooks is None:
            return {}
        store = self.driver.store
        tally = self.webhooks.deliver_due(store, clock=self.driver.clock)
        with store.unit_of_work() as uow:
            dead_letters = delivery_log(uow).count_deliveries(DeliveryState.DEAD)
        return {
            "webhooks_delivered": tally.delivered,
            "webhooks_retrying": tally.retrying,
            "webhooks_dead": tally.dead,
            "webhook_dead_letters": dead_letters,
        }

    def _isolated(self, sid: str, now: dt.datetime) -> tuple[bool, int] | DueFailure | None:
        """Work on one due subscription under a lease of its own. Returns (progressed,
        renewals), a failure (noted in the store, the subscription backed off), or None when
        another driver holds it."""
        ownership = self.driver.ownership
        try:
            with self.driver.store.unit_of_work() as uow:
                held = Held(ownership.take(uow, sid, ownership.new_owner()))
        except SubscriptionBusy:
            return None
        try:
            result = self._work_on(sid, now, held)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # the process is going down: just let go
                if not held.lost:
                    ownership.release(held.lease)
                raise
            # One bad subscription never blocks the others.
            logger.exception("due work on %s failed; it is backed off", sid)
            retry_at = self.driver.clock.now() + _BACKOFF
            failure = DueFailure(sid, f"{type(exc).__name__}: {exc}"[:500], retry_at)
            if not held.lost:
                ownership.release(held.lease, failure=failure.error, retry_at=retry_at)
            return failure
        if not held.lost:
            ownership.release(held.lease)
        return result

    def _work_on(self, subscription_id: str, now: dt.datetime, held: Held) -> tuple[bool, int]:
        """Advance one due subscription as far as ``now`` allows. Returns (progressed, renewals)."""
        driver = self.driver
        with driver.store.unit_of_work() as uow:
            sub = uow.get(subscription_id)
        renewals = 0
        progressed = False
        reads = driver.reads()
        for _ in range(_MAX_WORK):
            if sub is None:
                break
            work = next_work(sub, now)
            if work is None:
                break
            before = sub.version
            if work is DueWork.RENEW:
                result = lifecycle.apply(sub, Trigger.RENEW, Context(at=now))
                self._save(sub, result, held)
                renewals += 1
                sub = result.subscription
            else:
                if work is not DueWork.DRIVE:
                    started = self._start(sub, work)
                    self._save(sub, lifecycle.Result(started, ()), held)
                    sub = started
                sub = driver.drive(sub, held, now=now, send=False, reads=reads)
            if held.lost:
                break
            if sub.version == before:
                break
            progressed = True
        return progressed, renewals

    @staticmethod
    def _start(sub: Subscription, work: DueWork) -> Subscription:
        if work is DueWork.APPLY_CANCELLATION:
            return saga.start(sub, OperationKind.CANCELLATION)
        if work is DueWork.APPLY_PLAN_CHANGE:
            change = applicable_change(sub)
            plan = None if change is None else change.plan
            return saga.start(sub, OperationKind.PLAN_CHANGE, plan=plan)
        return saga.start(sub, OperationKind.CANCELLATION, detail=saga.EXPIRY)

    def _save(self, before: Subscription, result: lifecycle.Result, held: Held) -> None:
        with self.driver.store.unit_of_work() as uow:
            held.lease = self.driver.ownership.renew_in(uow, held.lease)
            uow.save(result.subscription, stamp(result.events), expected_version=before.version)

    def _release_expired_aliases(self, now: dt.datetime) -> int:
        store, storefront = self.driver.store, self.driver.storefront
        with store.unit_of_work() as uow:
            expired = uow.expired_alias_holds(now)
        released = 0
        for hold in expired:
            try:
                storefront.release_alias(StorefrontAlias(hold.alias), account_id=hold.account_id)
            except TransientBackendError:
                continue
            except ResellerPlansError as exc:
                logger.warning("releasing alias %s failed: %s", hold.alias, exc)
            with store.unit_of_work() as uow:
                current = uow.get_alias_hold(hold.alias)
                if current == hold:
                    uow.delete_alias_hold(hold.alias)
                    released += 1
        return released
