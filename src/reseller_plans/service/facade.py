"""``ResellerPlans``: the façade a host application calls.

It wires the collaborators once (:class:`SagaDriver`, :class:`Commands`, :class:`Scheduler`,
:class:`OutboxSender`) and gives each command one short method: parse and authorize the
input, name the request for its idempotency key, and hand the command's planner to
:class:`Commands`. Queries read the store directly.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import partial
from types import TracebackType

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.eligibility import EligibilityReport
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.events import Event
from reseller_plans.domain.lifecycle import Trigger
from reseller_plans.domain.plans import Plan, Timing
from reseller_plans.domain.subscription import BillingCycle, Channel, Subscription
from reseller_plans.mail import Templates
from reseller_plans.ports import BSS, Clock, Mailer, OutboxEntry, Store, Storefront, SystemClock
from reseller_plans.service import planning
from reseller_plans.service.access import (
    KeyScope,
    Request,
    authorize_account,
    authorize_distributor,
)
from reseller_plans.service.commands import Commands
from reseller_plans.service.decisions import UpgradeRequest
from reseller_plans.service.driver import SagaDriver, load
from reseller_plans.service.leases import LeaseSettings, Ownership
from reseller_plans.service.outbox import MessageRenderer, OutboxSender
from reseller_plans.service.scheduler import DueReport, Scheduler

__all__ = ["ResellerPlans"]


def _parse_plan(plan: Plan | str) -> Plan:
    try:
        return Plan.parse(plan)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


class ResellerPlans:
    """Reseller plans, embedded: the commands, the queries and the due work.

    A command authorizes the actor before any write, changes nothing when it refuses, honours
    the caller's idempotency key, commits the new state with its events and messages at once,
    then drives the saga, committing each step's outcome before the next, and sends the outbox.

    Args:
        bss: the distributor's BSS.
        storefront: the distributor's Storefront.
        mailer: sends the outbox's messages.
        store: where state lives (``SQLiteStore`` is the embedded default).
        clock: where time comes from (real time by default).
        templates: renders messages (``reseller_plans.mail.Templates()`` by default).
        alias_hold: how long a cancelled reseller's alias stays reserved to it.
        retry_budget: attempts per saga step on transient failures before it waits for
            ``retry`` or the next ``run_due``.
        staff_email: where provisioning failures go when the distributor profile has none.
        new_id: makes subscription ids (random by default; seeded in simulations).
        leases: how long a driver call owns the subscription it drives, how long a command
            waits for a busy one, and the longest a step may take (``LeaseSettings()`` by
            default; see the workers guide).
    """

    def __init__(
        self,
        *,
        bss: BSS,
        storefront: Storefront,
        mailer: Mailer,
        store: Store,
        clock: Clock | None = None,
        templates: MessageRenderer | None = None,
        alias_hold: dt.timedelta = dt.timedelta(days=30),
        retry_budget: int = 3,
        staff_email: str | None = None,
        new_id: Callable[[], str] | None = None,
        leases: LeaseSettings | None = None,
    ) -> None:
        if retry_budget < 1:
            raise InvalidInput("retry_budget must be at least 1")
        if alias_hold < dt.timedelta(0):
            raise InvalidInput("alias_hold must not be negative")
        self.bss = bss
        self.storefront = storefront
        self.mailer = mailer
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.templates: MessageRenderer = templates or Templates()
        self.alias_hold = alias_hold
        self.retry_budget = retry_budget
        self.staff_email = staff_email
        self._new_id = new_id or (lambda: "sub_" + uuid.uuid4().hex)
        self.leases = leases or LeaseSettings()
        self._ownership = Ownership(store, self.clock, self.leases)
        self._outbox = OutboxSender(store, mailer, self.templates, self.clock, self._ownership)
        self._driver = SagaDriver(
            bss=bss,
            storefront=storefront,
            store=store,
            clock=self.clock,
            outbox=self._outbox,
            ownership=self._ownership,
            alias_hold=alias_hold,
            retry_budget=retry_budget,
            staff_email=staff_email,
        )
        self._commands = Commands(self._driver, self.clock)
        self._scheduler = Scheduler(self._driver)
        self._closed = False

    def __repr__(self) -> str:
        return f"ResellerPlans(store={self.store!r}, clock={self.clock!r})"

    def close(self) -> None:
        """Close the adapters it was given that have a ``close()`` (the store, the BSS and
        Storefront clients, the mailer), once. A host that shares an adapter with other code
        closes it itself and does not call this."""
        if self._closed:
            return
        self._closed = True
        for adapter in (self.store, self.bss, self.storefront, self.mailer):
            close = getattr(adapter, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> ResellerPlans:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def get(self, subscription_id: str) -> Subscription:
        """The subscription.

        Raises:
            NotFound: no such subscription.
        """
        with self.store.unit_of_work() as uow:
            return load(uow, subscription_id)

    def plan_of(self, account_id: str) -> Plan:
        """The plan the account is on: its live subscription's, or ``Plan.BASIC``."""
        with self.store.unit_of_work() as uow:
            live = uow.live_subscription_of(account_id)
        return Plan.BASIC if live is None else live.effective_plan

    def subscription_of(self, account_id: str) -> Subscription | None:
        """The account's live subscription, if any."""
        with self.store.unit_of_work() as uow:
            return uow.live_subscription_of(account_id)

    def history(self, subscription_id: str) -> list[Event]:
        """Every event of the subscription, in order.

        Raises:
            NotFound: no such subscription.
        """
        with self.store.unit_of_work() as uow:
            load(uow, subscription_id)
            return uow.history(subscription_id)

    def find_by_key(self, idempotency_key: str, *, actor: Actor) -> Subscription | None:
        """The subscription a command sent with this key (by this actor) produced, if any.

        Bulk runs use it to tell the rows already done from the rest.
        """
        with self.store.unit_of_work() as uow:
            record = uow.get_idempotency(KeyScope(actor).value, idempotency_key)
            return None if record is None else uow.get(record.subscription_id)

    def outbox(self, subscription_id: str) -> list[OutboxEntry]:
        """The subscription's messages, sent or waiting."""
        with self.store.unit_of_work() as uow:
            return uow.outbox_of(subscription_id)

    def check(
        self, account_id: str, plan: Plan | str, *, actor: Actor, alias: str | None = None
    ) -> EligibilityReport:
        """Check whether the account may move to ``plan``; never raises for "not eligible".

        Args:
            account_id: the reseller account.
            plan: the plan asked for.
            actor: who asks (a reseller may check only itself).
            alias: the Storefront Alias asked for, checked for syntax and availability.

        Returns:
            The report with every failing criterion.

        Raises:
            Forbidden: a reseller asking about another account.
            InvalidInput: an unknown plan.
            NotFound: no such account.
            BackendError: the BSS could not be read.
        """
        target = _parse_plan(plan)
        authorize_account(actor, account_id)
        return self._commands.check(account_id, target, actor, alias)

    def upgrade(
        self,
        account_id: str,
        plan: Plan | str,
        *,
        actor: Actor,
        alias: str | StorefrontAlias | None = None,
        idempotency_key: str | None = None,
        billing_cycle: BillingCycle = BillingCycle.MONTHLY,
        auto_renew: bool = True,
        channel: Channel | None = None,
        platform_subscription_id: str | None = None,
    ) -> Subscription:
        """Upgrade a reseller from Basic to Free or Standard (or Free to Standard).

        A distributor's upgrade is an order created and executed in the BSS; a reseller's is a
        purchase in the Storefront. Provisioning follows at once: the plan license, the
        reseller's storefront under its alias, the welcome email.

        Args:
            account_id: the reseller account.
            plan: ``Plan.FREE`` or ``Plan.STANDARD``.
            actor: the reseller's distributor, or the reseller itself.
            alias: the Storefront Alias (required from Basic).
            idempotency_key: repeat-safe key of this request, scoped to the actor.
            billing_cycle: monthly or annual.
            auto_renew: whether the term renews by itself.
            channel: where the upgrade comes from: by default ``Channel.BSS`` for a
                distributor and ``Channel.STOREFRONT`` for a reseller. ``Channel.PLATFORM``
                means the platform already executed the order and calls us to provision (the
                service manager): no order is placed.
            platform_subscription_id: the platform's id of the subscription, when known.

        Returns:
            The subscription: ``ACTIVE`` when provisioning completed, ``FAILED`` (with
            ``failure_reason``) when it was rolled back, ``PENDING`` with a failed sync status
            when a backend stayed unavailable (``retry`` or ``run_due`` resumes it).

        Raises:
            Forbidden: the actor may not act on the account.
            InvalidAlias: the alias breaks a rule (or is missing).
            NotEligible: with the report of every failing criterion.
            AliasTaken: another reseller holds the alias.
            IllegalTransition: an upgrade of the account is already under way.
            IdempotencyConflict: the key was used with other arguments.
            NotFound: no such account.
            BackendError: the BSS or Storefront could not be read.
        """
        target = _parse_plan(plan)
        if target is Plan.BASIC:
            raise InvalidInput("Basic is not an upgrade: cancel the subscription instead")
        parsed = None if alias is None else StorefrontAlias.parse(alias)
        authorize_account(actor, account_id)
        upgrade = UpgradeRequest(
            account_id,
            target,
            actor,
            parsed,
            billing_cycle,
            auto_renew,
            channel,
            platform_subscription_id,
        )
        return self._commands.upgrade(upgrade, idempotency_key, self._new_id)

    def change_plan(
        self,
        subscription_id: str,
        plan: Plan | str,
        *,
        actor: Actor,
        timing: Timing | None = None,
        idempotency_key: str | None = None,
        platform_initiated: bool = False,
    ) -> Subscription:
        """Move the subscription between Free and Standard.

        Args:
            subscription_id: the subscription.
            plan: the new plan.
            actor: the reseller or its distributor.
            timing: when it takes effect; by default the move's own (Free → Standard at once,
                Standard → Free at the end of the term).
            idempotency_key: repeat-safe key of this request.
            platform_initiated: the platform itself made the change (service manager).

        Returns:
            The subscription, on its new plan, or with the change scheduled.

        Raises:
            Forbidden: the actor may not act on the subscription.
            NotFound: no such subscription.
            IllegalTransition: the move is not allowed in its state.
            ChangePending: another change is scheduled.
            NotEligible: the account may not have Standard.
            IdempotencyConflict: the key was used with other arguments.
        """
        target = _parse_plan(plan)
        request = Request.of("change_plan", subscription_id, target.value, timing)
        plan_it = partial(
            planning.plan_change, plan=target, timing=timing, platform_initiated=platform_initiated
        )
        return self._commands.on_subscription(
            subscription_id, actor, idempotency_key, request, plan_it
        )

    def cancel(
        self,
        subscription_id: str,
        *,
        actor: Actor,
        timing: Timing = Timing.IMMEDIATE,
        idempotency_key: str | None = None,
        platform_initiated: bool = False,
    ) -> Subscription:
        """Cancel the subscription: the reseller goes back to Basic.

        Immediately: the storefront and license are removed first and the platform's
        subscription cancelled last. At the end of the term: scheduled, and withdrawable with
        ``withdraw_change`` until then. The alias stays reserved to the reseller for
        ``alias_hold``. With ``platform_initiated`` (the platform cancels and calls the service
        manager) the platform's subscription is not cancelled again.

        Raises:
            Forbidden: the actor may not act on the subscription.
            NotFound: no such subscription.
            IllegalTransition: it cannot be cancelled in its state.
            ChangePending: a plan change is scheduled.
            IdempotencyConflict: the key was used with other arguments.
        """
        request = Request.of("cancel", subscription_id, timing.value)
        plan_it = partial(
            planning.plan_cancel, timing=timing, platform_initiated=platform_initiated
        )
        return self._commands.on_subscription(
            subscription_id, actor, idempotency_key, request, plan_it
        )

    def withdraw_change(self, subscription_id: str, *, actor: Actor) -> Subscription:
        """Withdraw the scheduled plan change or cancellation before it applies.

        Raises:
            Forbidden: the actor may not act on the subscription.
            NotFound: no such subscription.
            IllegalTransition: nothing is scheduled.
        """
        return self._commands.on_subscription(
            subscription_id, actor, None, Request.of("withdraw_change"), planning.plan_withdraw
        )

    def suspend(
        self,
        subscription_id: str,
        *,
        actor: Actor,
        reason: str = "",
        idempotency_key: str | None = None,
        platform_initiated: bool = False,
    ) -> Subscription:
        """Suspend the subscription (a distributor action, for example for non-payment).

        Raises:
            Forbidden: a reseller, or another distributor.
            NotFound: no such subscription.
            IllegalTransition: not allowed in its state.
        """
        authorize_distributor(actor)
        request = Request.of(Trigger.SUSPEND.value, subscription_id, reason)
        plan_it = partial(
            planning.plan_suspension, reason=reason, platform_initiated=platform_initiated
        )
        return self._commands.on_subscription(
            subscription_id, actor, idempotency_key, request, plan_it, distributor_only=True
        )

    def resume(
        self,
        subscription_id: str,
        *,
        actor: Actor,
        idempotency_key: str | None = None,
        platform_initiated: bool = False,
    ) -> Subscription:
        """Resume a suspended subscription (a distributor action).

        Raises:
            Forbidden: a reseller, or another distributor.
            NotFound: no such subscription.
            IllegalTransition: not allowed in its state.
        """
        authorize_distributor(actor)
        request = Request.of(Trigger.RESUME.value, subscription_id, "")
        plan_it = partial(planning.plan_resumption, platform_initiated=platform_initiated)
        return self._commands.on_subscription(
            subscription_id, actor, idempotency_key, request, plan_it, distributor_only=True
        )

    def retry(self, subscription_id: str, *, actor: Actor) -> Subscription:
        """Retry the failed provisioning of the subscription (a distributor action).

        Raises:
            Forbidden: a reseller, or another distributor.
            NotFound: no such subscription.
            IllegalTransition: its provisioning has not failed.
        """
        retry = Request.of("retry")
        return self._commands.on_subscription(
            subscription_id, actor, None, retry, planning.plan_retry, distributor_only=True
        )

    def run_due(self, now: dt.datetime | None = None) -> DueReport:
        """Do everything that is due at ``now`` (default: the clock's now).

        Resumes interrupted operations, applies scheduled plan changes and cancellations,
        renews or expires ended terms, releases alias holds whose period ended, and sends
        the outbox. Safe to call as often as you like, from a scheduler or a worker loop.
        """
        return self._scheduler.run_due(now or self.clock.now())
