"""``ResellerPlans``: the commands a host application calls, run through the ports.

The service is the thin shell around the pure domain. For every command it:

1. **authorizes** the actor against the object (a reseller acts only on its own account and
   subscription, a distributor only on its own resellers, suspend/resume/retry only by the
   distributor) before any write, and raises ``Forbidden`` otherwise;
2. **validates** (plan, alias, eligibility, the state machine's guards) and changes nothing when
   it refuses;
3. honours the caller's **idempotency key**: the same key with the same arguments returns the
   first result without repeating a side effect; with other arguments, ``IdempotencyConflict``;
4. writes the new state, its events and any outbox message in **one unit of work**;
5. **drives the saga**: runs the step the domain names through a port, records its outcome in the
   store before the next one, retries transient failures within a budget, compensates after a
   permanent one; then sends the outbox.

A crash anywhere leaves a subscription whose operation says where to resume; ``run_due`` resumes
it, applies what the clock has made due (scheduled changes, term ends), releases expired alias
holds and sends pending messages.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from reseller_plans.domain import lifecycle, saga
from reseller_plans.domain.accounts import DistributorProfile, ResellerAccount
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.eligibility import (
    EligibilityFailure,
    EligibilityReport,
    FailureCode,
    check_eligibility,
)
from reseller_plans.domain.errors import (
    AliasTaken,
    ConcurrentUpdate,
    Forbidden,
    IdempotencyConflict,
    IllegalTransition,
    InvalidInput,
    NotEligible,
    NotFound,
    PermanentBackendError,
    ResellerPlansError,
    TransientBackendError,
)
from reseller_plans.domain.events import (
    ActivationFailed,
    Event,
    ProvisioningFailed,
    Requested,
)
from reseller_plans.domain.lifecycle import Context, Trigger
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan, Timing, plan_move
from reseller_plans.domain.saga import Outcome, SagaStep
from reseller_plans.domain.subscription import (
    BillingCycle,
    Channel,
    OperationKind,
    PendingKind,
    StepAction,
    Subscription,
    SubscriptionStatus,
    Term,
)
from reseller_plans.logs import get_logger
from reseller_plans.mail import Templates
from reseller_plans.ports import (
    BSS,
    AliasHold,
    Clock,
    EmailMessage,
    IdempotencyRecord,
    Mailer,
    OutboxEntry,
    Store,
    Storefront,
    SystemClock,
    UnitOfWork,
)
from reseller_plans.stores.memory import applicable_change, is_due

__all__ = ["DueReport", "MessageRenderer", "RenderedMessage", "ResellerPlans"]

logger = get_logger("service")

_UNREAD: Any = object()  # "not read yet", where None is a value read
_MAX_STEPS = 64  # far more than any operation has; a guard against a loop, never reached


def _date(when: dt.datetime) -> str:
    """A date as people read it in an email (``25 December 2026``, in UTC)."""
    day = when.astimezone(dt.UTC)
    return f"{day.day} {day:%B %Y}"


class RenderedMessage(Protocol):
    """A rendered message: what ``MessageRenderer.render`` returns."""

    @property
    def subject(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def html(self) -> str: ...


class MessageRenderer(Protocol):
    """Turns a message kind and its context into subject, text and HTML."""

    def render(self, kind: MessageKind, context: Mapping[str, str]) -> RenderedMessage: ...


@attrs.frozen
class DueReport:
    """What one ``run_due`` did."""

    subscriptions: int = 0
    renewals: int = 0
    emails_sent: int = 0
    emails_failed: int = 0
    aliases_released: int = 0


@attrs.frozen
class _Draft:
    """What a step's execution learned that its recording needs (an email's recipients and
    context)."""

    to: tuple[str, ...] = ()
    context: dict[str, str] = attrs.field(factory=dict)


class _Reads:
    """The BSS reads of one command: each account and distributor profile is read once, then
    reused by every step that needs it (eligibility, then the email's context)."""

    def __init__(self, bss: BSS) -> None:
        self._bss = bss
        self._accounts: dict[str, ResellerAccount] = {}
        self._distributors: dict[str, DistributorProfile] = {}

    def account(self, account_id: str) -> ResellerAccount:
        account = self._accounts.get(account_id)
        if account is None:
            account = self._accounts[account_id] = self._bss.get_account(account_id)
        return account

    def distributor(self, distributor_id: str) -> DistributorProfile:
        profile = self._distributors.get(distributor_id)
        if profile is None:
            profile = self._bss.get_distributor(distributor_id)
            self._distributors[distributor_id] = profile
        return profile


class ResellerPlans:
    """Reseller plans, embedded: commands, authorization, idempotency and the saga driver.

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

    def __repr__(self) -> str:
        return f"ResellerPlans(store={self.store!r}, clock={self.clock!r})"

    # ------------------------------------------------------------------ queries

    def get(self, subscription_id: str) -> Subscription:
        """The subscription.

        Raises:
            NotFound: no such subscription.
        """
        with self.store.unit_of_work() as uow:
            return self._load(uow, subscription_id)

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
            self._load(uow, subscription_id)
            return uow.history(subscription_id)

    def find_by_key(self, idempotency_key: str, *, actor: Actor) -> Subscription | None:
        """The subscription a command sent with this key (by this actor) produced, if any.

        Bulk runs use it to tell the rows already done from the rest.
        """
        with self.store.unit_of_work() as uow:
            record = uow.get_idempotency(self._scope(actor), idempotency_key)
            return None if record is None else uow.get(record.subscription_id)

    def outbox(self, subscription_id: str) -> list[OutboxEntry]:
        """The subscription's messages, sent or waiting."""
        with self.store.unit_of_work() as uow:
            return uow.outbox_of(subscription_id)

    # ------------------------------------------------------------------ eligibility

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
        target = self._parse_plan(plan)
        self._authorize_account(actor, account_id)
        account = self.bss.get_account(account_id)
        distributor_id = actor.id if actor.is_distributor else account.distributor_id
        distributor = self.bss.get_distributor(distributor_id)
        with self.store.unit_of_work() as uow:
            live = uow.live_subscription_of(account.id)
        return self._eligibility(distributor, account, target, alias, live=live)

    def _eligibility(
        self,
        distributor: DistributorProfile,
        account: ResellerAccount,
        plan: Plan,
        alias: str | StorefrontAlias | None,
        *,
        live: Subscription | None,
    ) -> EligibilityReport:
        current = account.plan if live is None else live.effective_plan
        report = check_eligibility(
            distributor, attrs.evolve(account, plan=current), plan, alias=alias
        )
        if live is not None and live.status is SubscriptionStatus.PENDING:
            report = report.with_failure(
                EligibilityFailure(
                    FailureCode.UPGRADE_UNDER_WAY,
                    f"an upgrade of account {account.id} is under way ({live.id})",
                    "wait until it completes or fails, or retry it if its provisioning failed",
                )
            )
        if alias is not None and FailureCode.INVALID_ALIAS not in report.codes:
            parsed = StorefrontAlias.parse(alias)
            if not self._alias_available(parsed, account.id):
                report = report.with_failure(
                    EligibilityFailure(
                        FailureCode.ALIAS_TAKEN,
                        f"the Storefront Alias {parsed.value!r} is taken",
                        "choose another alias",
                    )
                )
        return report

    def _alias_available(
        self, alias: StorefrontAlias, account_id: str, *, hold: AliasHold | None = _UNREAD
    ) -> bool:
        if hold is _UNREAD:
            with self.store.unit_of_work() as uow:
                hold = uow.get_alias_hold(alias.value)
        if hold is not None and hold.account_id != account_id:
            return False
        return self.storefront.is_alias_free(alias, account_id=account_id)

    # ------------------------------------------------------------------ commands

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
        target = self._parse_plan(plan)
        if target is Plan.BASIC:
            raise InvalidInput("Basic is not an upgrade: cancel the subscription instead")
        parsed_alias = None if alias is None else StorefrontAlias.parse(alias)
        self._authorize_account(actor, account_id)
        fingerprint = (
            f"upgrade|{account_id}|{target.value}|{parsed_alias}|{billing_cycle.value}"
            f"|{auto_renew}|{channel}|{platform_subscription_id}"
        )
        replay = self._replay(actor, idempotency_key, fingerprint)
        if replay is not None and replay.status is not SubscriptionStatus.FAILED:
            return replay
        # A rolled-back activation left nothing behind, so the same request (the platform's
        # Retry, an operator's rerun) is tried afresh; the key then points to the new attempt.

        reads = _Reads(self.bss)
        account = reads.account(account_id)
        if actor.is_distributor and account.distributor_id != actor.id:
            raise Forbidden(f"account {account_id} is not a reseller of distributor {actor.id}")
        with self.store.unit_of_work() as uow:  # one read of what the store knows
            live = uow.live_subscription_of(account_id)
            hold = None if parsed_alias is None else uow.get_alias_hold(parsed_alias.value)
        if live is not None and live.status is SubscriptionStatus.PENDING:
            raise IllegalTransition("pending", "upgrade", "an upgrade of this account is under way")
        if live is not None and live.effective_plan is Plan.FREE and target is Plan.STANDARD:
            if parsed_alias is not None and parsed_alias != live.alias:
                raise IllegalTransition(
                    live.status.value,
                    "change the Storefront Alias of",
                    f"the reseller keeps its alias {live.alias} when it moves to Standard",
                )
            # Free → Standard is the purchase of the Standard product: an immediate plan change.
            return self._change_plan(
                live,
                target,
                Timing.IMMEDIATE,
                actor,
                idempotency_key,
                fingerprint,
                platform_initiated=channel is Channel.PLATFORM,
                platform_subscription_id=platform_subscription_id,
                reads=reads,
            )
        if live is not None and plan_move(live.effective_plan, target).legal:
            raise IllegalTransition(
                live.status.value,
                "upgrade",
                f"the account is on the {live.effective_plan.title} plan already; "
                "use change_plan to move between Free and Standard",
            )
        if parsed_alias is None:
            raise StorefrontAlias.missing()

        distributor = reads.distributor(account.distributor_id)
        report = self._eligibility(distributor, account, target, None, live=live)
        if not report.eligible:
            raise NotEligible(report)
        if not self._alias_available(parsed_alias, account_id, hold=hold):
            raise AliasTaken(parsed_alias.value)

        now = self.clock.now()
        if channel is None:
            channel = Channel.BSS if actor.is_distributor else Channel.STOREFRONT
        sub = Subscription(
            id=self._new_id(),
            account_id=account_id,
            distributor_id=account.distributor_id,
            plan=target,
            alias=parsed_alias,
            status=SubscriptionStatus.PENDING,
            term=Term.starting(now, billing_cycle, auto_renew),
            channel=channel,
            platform_subscription_id=platform_subscription_id,
        )
        sub = saga.start(
            sub, OperationKind.ACTIVATION, product_id=distributor.product_for(target) or ""
        )
        with self.store.unit_of_work() as uow:
            self._reserve_alias(uow, parsed_alias, account_id)
            if uow.live_subscription_of(account_id) is not None:
                raise IllegalTransition(
                    "pending", "upgrade", "an upgrade of this account is under way"
                )
            uow.add(sub, (Requested(sub.id, now, account_id, target, channel.value),))
            self._remember(uow, actor, idempotency_key, fingerprint, sub.id, now)
        logger.info("upgrade of %s to %s requested as %s", account_id, target.value, sub.id)
        return self._drive(sub.id, reads=reads)

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
            Forbidden, NotFound, IllegalTransition, ChangePending, NotEligible,
            IdempotencyConflict.
        """
        target = self._parse_plan(plan)
        fingerprint = f"change_plan|{subscription_id}|{target.value}|{timing}"
        replay = self._replay(actor, idempotency_key, fingerprint)
        if replay is not None:
            return replay
        sub = self.get(subscription_id)
        self._authorize(actor, sub)
        return self._change_plan(
            sub,
            target,
            timing,
            actor,
            idempotency_key,
            fingerprint,
            platform_initiated=platform_initiated,
        )

    def _change_plan(
        self,
        sub: Subscription,
        target: Plan,
        timing: Timing | None,
        actor: Actor,
        idempotency_key: str | None,
        fingerprint: str,
        *,
        platform_initiated: bool = False,
        platform_subscription_id: str | None = None,
        reads: _Reads | None = None,
    ) -> Subscription:
        reads = reads or _Reads(self.bss)
        now = self.clock.now()
        move = plan_move(sub.plan, target)
        timing = timing or move.timing or Timing.IMMEDIATE
        trigger = (
            Trigger.CHANGE_PLAN if timing is Timing.IMMEDIATE else Trigger.SCHEDULE_PLAN_CHANGE
        )
        ctx = Context(at=now, plan=target, effective_at=sub.term.end)
        lifecycle.check(sub, trigger, ctx)
        if target is Plan.STANDARD:
            distributor = reads.distributor(sub.distributor_id)
            account = reads.account(sub.account_id)
            report = check_eligibility(distributor, attrs.evolve(account, plan=sub.plan), target)
            if not report.eligible:
                raise NotEligible(report)
        if timing is Timing.IMMEDIATE:
            started = saga.start(
                sub, OperationKind.PLAN_CHANGE, plan=target, platform_initiated=platform_initiated
            )
            if platform_subscription_id is not None:
                started = attrs.evolve(started, platform_subscription_id=platform_subscription_id)
            self._save_command(sub, started, (), actor, idempotency_key, fingerprint, now)
            return self._drive(sub.id, reads=reads)
        result = lifecycle.apply(sub, trigger, ctx)
        extra = {
            "old_plan": sub.plan.value,
            "new_plan": target.value,
            "effective_at": _date(sub.term.end),
        }
        self._save_command(
            sub,
            result.subscription,
            result.events,
            actor,
            idempotency_key,
            fingerprint,
            now,
            message=(MessageKind.PLAN_CHANGE_SCHEDULED, extra),
            reads=reads,
        )
        return self._send_outbox_of(sub.id)

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
            Forbidden, NotFound, IllegalTransition, ChangePending, IdempotencyConflict.
        """
        fingerprint = f"cancel|{subscription_id}|{timing.value}"
        replay = self._replay(actor, idempotency_key, fingerprint)
        if replay is not None:
            return replay
        sub = self.get(subscription_id)
        self._authorize(actor, sub)
        now = self.clock.now()
        if timing is Timing.IMMEDIATE:
            lifecycle.check(sub, Trigger.CANCEL, Context(at=now))
            started = saga.start(
                sub, OperationKind.CANCELLATION, platform_initiated=platform_initiated
            )
            self._save_command(sub, started, (), actor, idempotency_key, fingerprint, now)
            return self._drive(sub.id)
        ctx = Context(at=now, effective_at=sub.term.end)
        result = lifecycle.apply(sub, Trigger.SCHEDULE_CANCELLATION, ctx)
        extra = {"effective_at": _date(sub.term.end)}
        self._save_command(
            sub,
            result.subscription,
            result.events,
            actor,
            idempotency_key,
            fingerprint,
            now,
            message=(MessageKind.CANCELLATION_SCHEDULED, extra),
        )
        return self._send_outbox_of(sub.id)

    def withdraw_change(self, subscription_id: str, *, actor: Actor) -> Subscription:
        """Withdraw the scheduled plan change or cancellation before it applies.

        Raises:
            Forbidden, NotFound, IllegalTransition (nothing scheduled).
        """
        sub = self.get(subscription_id)
        self._authorize(actor, sub)
        now = self.clock.now()
        result = lifecycle.apply(sub, Trigger.WITHDRAW_PENDING_CHANGE, Context(at=now))
        message: tuple[MessageKind, dict[str, str]] | None = None
        if sub.pending_change is not None and sub.pending_change.kind is PendingKind.CANCELLATION:
            message = (MessageKind.CANCELLATION_WITHDRAWN, {})
        self._save_command(
            sub, result.subscription, result.events, actor, None, "", now, message=message
        )
        return self._send_outbox_of(sub.id)

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
            Forbidden (a reseller, or another distributor), NotFound, IllegalTransition.
        """
        return self._run_operation(
            subscription_id,
            actor,
            Trigger.SUSPEND,
            OperationKind.SUSPENSION,
            idempotency_key,
            detail=reason,
            platform_initiated=platform_initiated,
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
            Forbidden (a reseller, or another distributor), NotFound, IllegalTransition.
        """
        return self._run_operation(
            subscription_id,
            actor,
            Trigger.RESUME,
            OperationKind.RESUMPTION,
            idempotency_key,
            platform_initiated=platform_initiated,
        )

    def retry(self, subscription_id: str, *, actor: Actor) -> Subscription:
        """Retry the failed provisioning of the subscription (a distributor action).

        Raises:
            Forbidden, NotFound, IllegalTransition (provisioning has not failed).
        """
        sub = self.get(subscription_id)
        self._authorize(actor, sub, distributor_only=True)
        now = self.clock.now()
        result = lifecycle.apply(sub, Trigger.RETRY, Context(at=now))
        self._save_command(sub, result.subscription, result.events, actor, None, "", now)
        return self._drive(sub.id)

    def _run_operation(
        self,
        subscription_id: str,
        actor: Actor,
        trigger: Trigger,
        kind: OperationKind,
        idempotency_key: str | None,
        *,
        detail: str = "",
        platform_initiated: bool = False,
    ) -> Subscription:
        fingerprint = f"{trigger.value}|{subscription_id}|{detail}"
        self._authorize_distributor(actor)
        replay = self._replay(actor, idempotency_key, fingerprint)
        if replay is not None:
            return replay
        sub = self.get(subscription_id)
        self._authorize(actor, sub, distributor_only=True)
        now = self.clock.now()
        lifecycle.check(sub, trigger, Context(at=now, reason=detail))
        started = saga.start(sub, kind, detail=detail, platform_initiated=platform_initiated)
        self._save_command(sub, started, (), actor, idempotency_key, fingerprint, now)
        return self._drive(sub.id)

    # ------------------------------------------------------------------ due work

    def run_due(self, now: dt.datetime | None = None) -> DueReport:
        """Do everything that is due at ``now`` (default: the clock's now).

        Resumes interrupted operations, applies scheduled plan changes and cancellations,
        renews or expires ended terms, releases alias holds whose period ended, and sends
        the outbox. Safe to call as often as you like, from a scheduler or a worker loop.
        """
        now = now or self.clock.now()
        touched = renewals = 0
        stuck: set[str] = set()  # due, but nothing could be done now (left for the next run)
        while True:
            with self.store.unit_of_work() as uow:
                due = [sid for sid in uow.due(now, limit=200 + len(stuck)) if sid not in stuck]
            if not due:
                break
            for sid in due:
                touched += 1
                progressed, renewed = self._work_on(sid, now)
                renewals += renewed
                if not progressed:
                    stuck.add(sid)
        released = self._release_expired_aliases(now)
        sent, failed = self._send_outbox()
        return DueReport(touched, renewals, sent, failed, released)

    def _work_on(self, subscription_id: str, now: dt.datetime) -> tuple[bool, int]:
        """Advance one due subscription as far as ``now`` allows. Returns (progressed, renewals)."""
        renewals = 0
        progressed = False
        for _ in range(_MAX_STEPS * 16):
            with self.store.unit_of_work() as uow:
                sub = uow.get(subscription_id)
            if sub is None or not is_due(sub, now):
                break
            before = sub.version
            if sub.operation is not None:
                sub = self._drive(subscription_id, now=now, send=False)
            elif (change := applicable_change(sub)) is not None and change.effective_at <= now:
                if change.kind is PendingKind.CANCELLATION:
                    started = saga.start(sub, OperationKind.CANCELLATION)
                else:
                    started = saga.start(sub, OperationKind.PLAN_CHANGE, plan=change.plan)
                self._save(sub, started, ())
                sub = self._drive(subscription_id, now=now, send=False)
            elif sub.term.auto_renew:
                result = lifecycle.apply(sub, Trigger.RENEW, Context(at=now))
                self._save(sub, result.subscription, result.events)
                renewals += 1
                sub = result.subscription
            else:
                started = saga.start(sub, OperationKind.CANCELLATION, detail=saga.EXPIRY)
                self._save(sub, started, ())
                sub = self._drive(subscription_id, now=now, send=False)
            if sub.version == before:
                break
            progressed = True
        return progressed, renewals

    def _release_expired_aliases(self, now: dt.datetime) -> int:
        with self.store.unit_of_work() as uow:
            expired = uow.expired_alias_holds(now)
        released = 0
        for hold in expired:
            try:
                self.storefront.release_alias(
                    StorefrontAlias(hold.alias), account_id=hold.account_id
                )
            except TransientBackendError:
                continue
            except ResellerPlansError as exc:
                logger.warning("releasing alias %s failed: %s", hold.alias, exc)
            with self.store.unit_of_work() as uow:
                current = uow.get_alias_hold(hold.alias)
                if current == hold:
                    uow.delete_alias_hold(hold.alias)
                    released += 1
        return released

    # ------------------------------------------------------------------ the saga driver

    def _drive(
        self,
        subscription_id: str,
        *,
        now: dt.datetime | None = None,
        send: bool = True,
        reads: _Reads | None = None,
    ) -> Subscription:
        reads = reads or _Reads(self.bss)
        with self.store.unit_of_work() as uow:
            sub = self._load(uow, subscription_id)
        for _ in range(_MAX_STEPS):
            step = saga.next_step(sub)
            if step is None:
                break
            outcome, draft = self._execute(sub, step, reads)
            at = now or self.clock.now()
            try:
                with self.store.unit_of_work() as uow:
                    current = self._load(uow, subscription_id)
                    if current.version != sub.version:
                        sub = current  # another worker moved it on: go on from there
                        continue
                    result = saga.record(current, step, outcome, Context(at=at))
                    uow.save(result.subscription, result.events, expected_version=current.version)
                    self._react(
                        uow, current, result.subscription, result.events, step, outcome, draft, at
                    )
                sub = result.subscription
            except ConcurrentUpdate:
                with self.store.unit_of_work() as uow:
                    sub = self._load(uow, subscription_id)
        return self._send_outbox_of(subscription_id) if send else sub

    def _execute(self, sub: Subscription, step: SagaStep, reads: _Reads) -> tuple[Outcome, _Draft]:
        """Run one step through the ports, retrying transient failures within the budget."""
        last: Exception | None = None
        for attempt in range(1, self.retry_budget + 1):
            try:
                platform_id, draft = self._call(sub, step, reads)
            except TransientBackendError as exc:
                logger.info(
                    "%s of %s failed (attempt %d): %s", step.action.value, sub.id, attempt, exc
                )
                last = exc
                continue
            except ResellerPlansError as exc:
                logger.warning("%s of %s failed for good: %s", step.action.value, sub.id, exc)
                return Outcome.permanent(str(exc)), self._failure_draft(sub, reads)
            if step.compensation:  # the last compensation ends the operation as failed
                draft = self._failure_draft(sub, reads)
            return Outcome.done(platform_id), draft
        return Outcome.transient(str(last)), self._failure_draft(sub, reads)

    def _call(self, sub: Subscription, step: SagaStep, reads: _Reads) -> tuple[str | None, _Draft]:
        op = sub.operation
        key = (
            f"{op.id if op else sub.id}:{step.action.value}:{'undo' if step.compensation else 'do'}"
        )
        action = step.action
        bss, storefront = self.bss, self.storefront
        if action is StepAction.PLACE_ORDER:
            product = op.product_id if op else ""
            if not product:
                raise PermanentBackendError("the plan product is not in the catalog")
            place = bss.place_plan_order if sub.channel is Channel.BSS else storefront.purchase_plan
            order = place(
                account_id=sub.account_id,
                product_id=product,
                alias=sub.alias,
                billing_cycle=sub.term.cycle.value,
                idempotency_key=key,
            )
            return order.platform_subscription_id or order.order_id, _Draft()
        if action is StepAction.PROVISION_LICENSE:
            bss.provision_license(sub.account_id, step.plan, idempotency_key=key)
        elif action is StepAction.REVOKE_LICENSE:
            bss.revoke_license(sub.account_id, idempotency_key=key)
        elif action is StepAction.ACTIVATE_STOREFRONT:
            if sub.alias is None:
                raise PermanentBackendError("the subscription has no Storefront Alias")
            storefront.hold_alias(sub.alias, account_id=sub.account_id)
            try:
                storefront.activate_storefront(sub.account_id, sub.alias, step.plan)
            except TransientBackendError:
                raise
            except ResellerPlansError:
                # The step fails for good, so it will not be compensated: give back the alias
                # this activation just took, before the failure is recorded.
                if op is not None and op.kind is OperationKind.ACTIVATION:
                    storefront.release_alias(sub.alias, account_id=sub.account_id)
                raise
        elif action is StepAction.DEACTIVATE_STOREFRONT:
            storefront.deactivate_storefront(sub.account_id)
            if step.compensation and sub.alias is not None:
                storefront.release_alias(sub.alias, account_id=sub.account_id)
        elif action is StepAction.SUSPEND_STOREFRONT:
            storefront.suspend_storefront(sub.account_id)
        elif action is StepAction.RESUME_STOREFRONT:
            storefront.resume_storefront(sub.account_id)
        elif action in (
            StepAction.SUSPEND_ON_PLATFORM,
            StepAction.RESUME_ON_PLATFORM,
            StepAction.CANCEL_ON_PLATFORM,
        ):
            pid = sub.platform_subscription_id
            if pid is not None:
                call = {
                    StepAction.SUSPEND_ON_PLATFORM: bss.suspend_subscription,
                    StepAction.RESUME_ON_PLATFORM: bss.resume_subscription,
                    StepAction.CANCEL_ON_PLATFORM: bss.cancel_subscription,
                }[action]
                call(pid, idempotency_key=key)
            if action is StepAction.CANCEL_ON_PLATFORM and step.compensation and sub.alias:
                # Undoing the order of an activation: the alias went with the order line.
                storefront.release_alias(sub.alias, account_id=sub.account_id)
        elif action is StepAction.QUEUE_EMAIL:
            return None, self._reseller_draft(sub, step, reads)
        return None, _Draft()

    # ------------------------------------------------------------------ messages

    def _reseller_draft(self, sub: Subscription, step: SagaStep, reads: _Reads) -> _Draft:
        account = reads.account(sub.account_id)
        distributor = reads.distributor(sub.distributor_id)
        context = self._context(sub, account, distributor)
        op = sub.operation
        if op is not None:
            context.update(
                plan=op.plan.value,
                old_plan=op.previous_plan.value,
                new_plan=op.plan.value,
                reason=op.detail or "not given",
                effective_at=_date(self.clock.now()),
            )
            if op.plan.has_storefront and sub.alias and distributor.storefront_host:
                context["storefront_url"] = sub.alias.url(distributor.storefront_host)
        if step.message is MessageKind.CANCELLED and sub.alias is not None:
            until = self.clock.now() + self.alias_hold
            context["alias_held_until"] = _date(until)
        return _Draft((account.email,), context)

    def _context(
        self, sub: Subscription, account: ResellerAccount, distributor: DistributorProfile
    ) -> dict[str, str]:
        host = distributor.storefront_host
        context = {
            "reseller_name": account.name,
            "distributor_name": distributor.name,
            "account_id": sub.account_id,
            "subscription_id": sub.id,
            "plan": sub.plan.value,
            "alias": "" if sub.alias is None else sub.alias.value,
        }
        if host:
            context["distributor_storefront_url"] = host if "://" in host else f"https://{host}"
            if sub.alias is not None:
                context["storefront_url"] = sub.alias.url(host)
        return context

    def _failure_draft(self, sub: Subscription, reads: _Reads) -> _Draft:
        staff = self.staff_email
        name = sub.distributor_id
        try:
            distributor = reads.distributor(sub.distributor_id)
            staff = distributor.staff_email or staff
            name = distributor.name
        except ResellerPlansError:
            pass
        context = {
            "reseller_name": sub.account_id,
            "distributor_name": name,
            "account_id": sub.account_id,
            "subscription_id": sub.id,
            "plan": sub.plan.value,
            "alias": "" if sub.alias is None else sub.alias.value,
        }
        return _Draft((staff,) if staff else (), context)

    def _react(
        self,
        uow: UnitOfWork,
        before: Subscription,
        after: Subscription,
        events: tuple[Event, ...],
        step: SagaStep,
        outcome: Outcome,
        draft: _Draft,
        at: dt.datetime,
    ) -> None:
        """Effects on the store of a recorded step: outbox entries and alias holds."""
        op = before.operation
        op_id = op.id if op else before.id
        if step.action is StepAction.QUEUE_EMAIL and step.message and outcome.kind.value == "done":
            uow.add_outbox(
                OutboxEntry(
                    f"{op_id}:{step.message.value}",
                    before.id,
                    step.message,
                    draft.to,
                    draft.context,
                    at,
                )
            )
        for event in events:
            if isinstance(event, ProvisioningFailed | ActivationFailed) and draft.to:
                reason = getattr(event, "reason", "")
                context = {**draft.context, "reason": reason}
                uow.add_outbox(
                    OutboxEntry(
                        f"{op_id}:failed:{after.version}",
                        before.id,
                        MessageKind.PROVISIONING_FAILED,
                        draft.to,
                        context,
                        at,
                    )
                )
        if after.alias is not None and before.is_live and not after.is_live:
            if after.status is SubscriptionStatus.CANCELLED:
                hold = AliasHold(after.alias.value, after.account_id, at + self.alias_hold)
                uow.put_alias_hold(hold)
            else:  # activation rolled back: the alias goes back to the pool
                current = uow.get_alias_hold(after.alias.value)
                if current is not None and current.account_id == after.account_id:
                    uow.delete_alias_hold(after.alias.value)

    def _send_outbox_of(self, subscription_id: str) -> Subscription:
        with self.store.unit_of_work() as uow:
            sub = self._load(uow, subscription_id)
            entries = [
                e
                for e in uow.outbox_of(subscription_id)
                if e.sent_at is None and not e.failed_permanently
            ]
        for entry in entries:  # sending changes the outbox, never the subscription
            self._send(entry)
        return sub

    def _send_outbox(self) -> tuple[int, int]:
        sent = failed = 0
        with self.store.unit_of_work() as uow:
            entries = uow.unsent_outbox(limit=10_000)
        for entry in entries:
            if self._send(entry):
                sent += 1
            else:
                failed += 1
        return sent, failed

    def _send(self, entry: OutboxEntry) -> bool:
        if not entry.to:
            logger.warning("message %s has no recipient; not sent", entry.id)
            updated = attrs.evolve(entry, failed_permanently=True, last_error="no recipient")
            with self.store.unit_of_work() as uow:
                uow.update_outbox(updated)
            return False
        try:
            rendered = self.templates.render(entry.kind, entry.context)
            message = EmailMessage(
                entry.id, entry.kind, entry.to, rendered.subject, rendered.text, rendered.html
            )
            self.mailer.send(message)
        except TransientBackendError as exc:
            updated = attrs.evolve(entry, attempts=entry.attempts + 1, last_error=str(exc))
            ok = False
        except ResellerPlansError as exc:
            updated = attrs.evolve(
                entry, attempts=entry.attempts + 1, last_error=str(exc), failed_permanently=True
            )
            ok = False
        else:
            updated = attrs.evolve(entry, attempts=entry.attempts + 1, sent_at=self.clock.now())
            ok = True
        with self.store.unit_of_work() as uow:
            uow.update_outbox(updated)
        return ok

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _parse_plan(plan: Plan | str) -> Plan:
        try:
            return Plan.parse(plan)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None

    @staticmethod
    def _load(uow: UnitOfWork, subscription_id: str) -> Subscription:
        sub = uow.get(subscription_id)
        if sub is None:
            raise NotFound(f"no subscription {subscription_id!r}")
        return sub

    @staticmethod
    def _authorize_account(actor: Actor, account_id: str) -> None:
        if not actor.is_distributor and actor.id != account_id:
            raise Forbidden(f"{actor} may act only on its own account, not {account_id}")

    @staticmethod
    def _authorize_distributor(actor: Actor) -> None:
        if not actor.is_distributor:
            raise Forbidden(f"{actor} may not do this: it is a distributor action")

    def _authorize(
        self, actor: Actor, sub: Subscription, *, distributor_only: bool = False
    ) -> None:
        if actor.is_distributor:
            if sub.distributor_id != actor.id:
                raise Forbidden(f"subscription {sub.id} is not of a reseller of {actor}")
            return
        if distributor_only:
            self._authorize_distributor(actor)
        if sub.account_id != actor.id:
            raise Forbidden(f"subscription {sub.id} is not {actor}'s")

    def _reserve_alias(self, uow: UnitOfWork, alias: StorefrontAlias, account_id: str) -> None:
        hold = uow.get_alias_hold(alias.value)
        if hold is not None and hold.account_id != account_id:
            raise AliasTaken(alias.value)
        uow.put_alias_hold(AliasHold(alias.value, account_id, None))

    @staticmethod
    def _scope(actor: Actor) -> str:
        return f"{actor.kind.value}:{actor.id}"

    def _replay(self, actor: Actor, key: str | None, fingerprint: str) -> Subscription | None:
        if key is None:
            return None
        with self.store.unit_of_work() as uow:
            record = uow.get_idempotency(self._scope(actor), key)
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was first used for another request ({record.fingerprint})"
            )
        return self._drive(record.subscription_id)

    def _remember(
        self,
        uow: UnitOfWork,
        actor: Actor,
        key: str | None,
        fingerprint: str,
        subscription_id: str,
        now: dt.datetime,
    ) -> None:
        if key is not None:
            uow.put_idempotency(
                IdempotencyRecord(self._scope(actor), key, fingerprint, subscription_id, now)
            )

    def _save(self, before: Subscription, after: Subscription, events: tuple[Event, ...]) -> None:
        with self.store.unit_of_work() as uow:
            uow.save(after, events, expected_version=before.version)

    def _save_command(
        self,
        before: Subscription,
        after: Subscription,
        events: tuple[Event, ...],
        actor: Actor,
        key: str | None,
        fingerprint: str,
        now: dt.datetime,
        *,
        message: tuple[MessageKind, dict[str, str]] | None = None,
        reads: _Reads | None = None,
    ) -> None:
        draft = None
        if message is not None:
            reads = reads or _Reads(self.bss)
            account = reads.account(before.account_id)
            distributor = reads.distributor(before.distributor_id)
            context = {**self._context(before, account, distributor), **message[1]}
            draft = _Draft((account.email,), context)
        with self.store.unit_of_work() as uow:
            uow.save(after, events, expected_version=before.version)
            self._remember(uow, actor, key, fingerprint, before.id, now)
            if message is not None and draft is not None:
                uow.add_outbox(
                    OutboxEntry(
                        f"{before.id}-{after.version}:{message[0].value}",
                        before.id,
                        message[0],
                        draft.to,
                        draft.context,
                        now,
                    )
                )
