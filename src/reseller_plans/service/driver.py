"""The saga driver: the only code that runs a saga step through a port.

For the subscription it is given, the driver asks the domain for the next step
(``saga.next_step``), looks up the call it makes (``steps.call_for``), makes it, retrying
transient failures within the step's budget, and commits what the domain says the outcome
changes (``effects.settle``): the subscription, its events, the messages and the alias holds,
in one unit of work, before the next step. It decides nothing itself.

It drives only under a lease (``service.leases``): it renews it before a call that could
outlast it and in the unit of work that records the outcome. An outcome whose lease changed
hands meanwhile is refused, and the driver stops: the new owner goes on. A unit of work that
finds the subscription moved on by someone else (``ConcurrentUpdate``) loses its outcome too;
the driver goes on from the subscription as stored.
"""

from __future__ import annotations

import datetime as dt

import attrs

from reseller_plans.domain import reconcile, saga
from reseller_plans.domain.effects import Audience, Effects, settle
from reseller_plans.domain.errors import (
    ConcurrentUpdate,
    NotFound,
    OutcomeUnknown,
    ResellerPlansError,
    TransientBackendError,
)
from reseller_plans.domain.lifecycle import Context
from reseller_plans.domain.saga import Outcome, SagaStep
from reseller_plans.domain.subscription import StepAction, Subscription
from reseller_plans.logs import get_logger
from reseller_plans.ports import BSS, AliasHold, Clock, Lease, Store, Storefront, UnitOfWork
from reseller_plans.service.auditing import stamp
from reseller_plans.service.leases import LeaseLost, Ownership
from reseller_plans.service.messages import (
    Draft,
    failure_draft,
    outbox_entries,
    reseller_draft,
)
from reseller_plans.service.outbox import OutboxSender
from reseller_plans.service.reads import Reads
from reseller_plans.service.steps import call_for, platform_id, repair_call

__all__ = ["Held", "SagaDriver", "apply_holds", "load"]

logger = get_logger("service")

_MAX_STEPS = 64  # far more than any operation has; a guard against a loop, never reached


def load(uow: UnitOfWork, subscription_id: str) -> Subscription:
    """The stored subscription.

    Raises:
        NotFound: there is none.
    """
    sub = uow.get(subscription_id)
    if sub is None:
        raise NotFound(f"no subscription {subscription_id!r}")
    return sub


def apply_holds(uow: UnitOfWork, effects: Effects) -> None:
    """Write the alias reservations an outcome changed (a release only of the account's own)."""
    for change in effects.holds:
        if change.release:
            uow.release_alias_hold(change.alias, change.account_id)
        else:
            uow.put_alias_hold(AliasHold(change.alias, change.account_id, change.until))


@attrs.define
class Held:
    """The lease a driver call holds, as last renewed; ``lost`` once it changed hands;
    ``in_doubt`` until the first outcome recorded after taking it over (``saga.after_takeover``)."""

    lease: Lease
    lost: bool = False
    in_doubt: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.in_doubt = self.lease.taken_over


class SagaDriver:
    """Runs sagas through the ports and commits each outcome's effects."""

    def __init__(
        self,
        *,
        bss: BSS,
        storefront: Storefront,
        store: Store,
        clock: Clock,
        outbox: OutboxSender,
        ownership: Ownership,
        alias_hold: dt.timedelta,
        retry_budget: int,
        staff_email: str | None,
    ) -> None:
        self.ownership = ownership
        self.bss = bss
        self.storefront = storefront
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.alias_hold = alias_hold
        self.retry_budget = retry_budget
        self.staff_email = staff_email

    def reads(self) -> Reads:
        """A fresh read cache for one command."""
        return Reads(self.bss, self.storefront)

    def drive(
        self,
        sub: Subscription,
        held: Held,
        *,
        now: dt.datetime | None = None,
        send: bool = True,
        reads: Reads | None = None,
    ) -> Subscription:
        """Run the subscription's operation as far as it goes; then send its outbox.

        Args:
            sub: the subscription, as last stored.
            held: the lease this driver call holds on it.
            now: the instant outcomes are recorded at (default: the clock's, per step).
            send: send the subscription's waiting messages afterwards.
            reads: the command's read cache, if it has one.

        Returns:
            The subscription as stored after the last step it recorded.
        """
        reads = reads or self.reads()
        for _ in range(_MAX_STEPS):
            step = saga.next_step(sub)
            if step is None or held.lost:
                break
            sub = self.run_step(sub, step, held, reads, now=now)
        if send:
            self.outbox.send_of(sub.id)
        return sub

    def run_step(
        self,
        sub: Subscription,
        step: SagaStep,
        held: Held,
        reads: Reads,
        *,
        now: dt.datetime | None = None,
    ) -> Subscription:
        """Run one step and commit its outcome. Returns the subscription as stored after it."""
        try:
            held.lease = self.ownership.before_call(held.lease)
        except LeaseLost:
            held.lost = True
            return sub
        shown = self._already_done(sub, step) if held.in_doubt else None
        if shown is not None:
            outcome, draft = shown, Draft()  # the previous owner's call acted
        else:
            if held.in_doubt:  # the read took time of the lease: renew before the call
                try:
                    held.lease = self.ownership.before_call(held.lease)
                except LeaseLost:
                    held.lost = True
                    return sub
            outcome, draft = self.execute(sub, step, reads, now=now)
        return self.record(sub, step, outcome, draft, reads, held, at=now or self.clock.now())

    def _already_done(self, sub: Subscription, step: SagaStep) -> Outcome | None:
        """After a takeover: the outcome of the previous owner's call, when a read shows it
        acted (``reconcile.probe_of``), else None. A read that fails tells nothing, and the
        step runs again under its key."""
        probe = reconcile.probe_of(sub, step)
        pid, op = sub.platform_subscription_id, sub.operation  # probe_of: known, when asked
        try:
            if probe is reconcile.Probe.STOREFRONT:
                status = self.storefront.storefront_status(sub.account_id)
                done = reconcile.shows_done(step, storefront=status)
            elif probe is reconcile.Probe.LICENSE:
                licensed = self.bss.licensed_plan(sub.account_id)
                done = reconcile.shows_done(step, licensed=licensed)
            elif probe is reconcile.Probe.PLATFORM and pid is not None:
                done = reconcile.shows_done(step, platform=self.bss.platform_status(pid))
            elif probe is reconcile.Probe.ORDER and op is not None:
                return self._order_shown(sub, op.product_id)
            else:
                return None
        except ResellerPlansError as exc:
            logger.info(
                "%s of %s: cannot tell whether it acted: %s", step.action.value, sub.id, exc
            )
            return None
        return Outcome.done() if done else None

    def _order_shown(self, sub: Subscription, product_id: str) -> Outcome | None:
        found = self.bss.platform_subscriptions_of(sub.account_id, product_id)
        with self.store.unit_of_work() as uow:
            others = uow.subscriptions_of(sub.account_id)
        known = {s.platform_subscription_id for s in others if s.id != sub.id}
        placed = reconcile.order_shown(found, {pid for pid in known if pid is not None})
        return None if placed is None else Outcome.done(placed)

    def execute(
        self, sub: Subscription, step: SagaStep, reads: Reads, *, now: dt.datetime | None = None
    ) -> tuple[Outcome, Draft]:
        """Make the step's call, retrying transient failures within the budget.

        ``now`` dates the email a ``QUEUE_EMAIL`` step drafts (default: the clock's now), so
        that work ``run_due`` applies for an instant is dated at that instant.
        """
        last: Exception | None = None
        for attempt in range(1, self.retry_budget + 1):
            try:
                return self._attempt(sub, step, reads, now)
            except OutcomeUnknown as exc:
                logger.warning("%s of %s may have acted: %s", step.action.value, sub.id, exc)
                return Outcome.unknown(str(exc)), Draft()
            except TransientBackendError as exc:
                logger.info(
                    "%s of %s failed (attempt %d): %s", step.action.value, sub.id, attempt, exc
                )
                last = exc
                if exc.retries_exhausted:
                    break  # the adapter spent its retries under its deadline: wait for retry
            except ResellerPlansError as exc:
                logger.warning("%s of %s failed for good: %s", step.action.value, sub.id, exc)
                return Outcome.permanent(str(exc)), Draft()
        return Outcome.transient(str(last)), Draft()

    def _attempt(
        self, sub: Subscription, step: SagaStep, reads: Reads, now: dt.datetime | None
    ) -> tuple[Outcome, Draft]:
        if step.action is StepAction.QUEUE_EMAIL:
            account = reads.account(sub.account_id)
            distributor = reads.distributor(sub.distributor_id)
            at = now or self.clock.now()
            draft = reseller_draft(
                sub, step, account, distributor, now=at, alias_hold=self.alias_hold
            )
            return Outcome.done(), draft
        call = call_for(sub, step)
        if call is None:
            return Outcome.done(), Draft()
        port = self.bss if call.port == "bss" else self.storefront
        result = getattr(port, call.operation)(*call.args, **call.kwargs)
        return Outcome.done(platform_id(result)), Draft()

    def record(
        self,
        sub: Subscription,
        step: SagaStep,
        outcome: Outcome,
        draft: Draft,
        reads: Reads,
        held: Held,
        *,
        at: dt.datetime,
    ) -> Subscription:
        """Commit the outcome's effects, under the lease. Returns the subscription as stored
        after them (as it was, when the lease changed hands: the outcome is refused)."""
        if held.in_doubt:
            outcome = saga.after_takeover(outcome)
        effects = settle(sub, step, outcome, Context(at=at), alias_hold=self.alias_hold)
        if any(m.audience is Audience.STAFF for m in effects.messages):
            draft = self._staff_draft(sub, reads)
        entries = outbox_entries(sub.id, effects.messages, draft, at)
        try:
            with self.store.unit_of_work() as uow:
                held.lease = self.ownership.renew_in(uow, held.lease)
                uow.save(effects.subscription, stamp(effects.events), expected_version=sub.version)
                for entry in entries:
                    uow.add_outbox(entry)
                apply_holds(uow, effects)
        except LeaseLost:
            logger.warning(
                "%s of %s: the lease changed hands; its outcome is refused", step.action.value,
                sub.id,
            )  # fmt: skip
            held.lost = True
            self.ownership.stale_call(sub.id)  # what it did may undo the new owner's work
            return sub
        except ConcurrentUpdate:
            # Someone else moved it on: this outcome is lost, go on from what is stored. What
            # this call did may undo their work: look again.
            self.ownership.stale_call(sub.id)
            with self.store.unit_of_work() as uow:
                return load(uow, sub.id)
        held.in_doubt = False
        return effects.subscription

    def repair(self, sub: Subscription, action: StepAction) -> None:
        """Make one reconciliation's call (``domain.reconcile``) for the subscription's account."""
        call = repair_call(sub, action)
        port = self.bss if call.port == "bss" else self.storefront
        getattr(port, call.operation)(*call.args, **call.kwargs)

    def _staff_draft(self, sub: Subscription, reads: Reads) -> Draft:
        try:
            distributor = reads.distributor(sub.distributor_id)
        except ResellerPlansError:
            distributor = None
        return failure_draft(sub, distributor, self.staff_email)
