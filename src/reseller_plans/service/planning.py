"""Command planning: read the facts, then decide once, in a pure function per command.

Each command has a planner (:func:`plan_upgrade`, :func:`plan_change`, :func:`plan_cancel`,
:func:`plan_withdraw`, :func:`plan_suspension`, :func:`plan_resumption`, :func:`plan_retry`;
and :func:`plan_check` for the eligibility query). A planner reads only its ``Facts`` and
returns one of (``reseller_plans.service.decisions``):

- a ``Commit``: what to write in one unit of work, and whether the saga runs next;
- a ``Refusal``: the error the command raises, having changed nothing;
- a ``Need``: a fact it has not been given and needs to decide (the account and its
  distributor's profile, or whether the Storefront holds the alias for someone else). The
  driver reads it and asks again, so a command reads only what its decision depends on.

Planners do no I/O, so every driver (the synchronous ``ResellerPlans``, a test's stepping
driver, an async twin) shares them, and a dry run can ask them what a command would do.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from reseller_plans.domain import lifecycle, saga
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.eligibility import (
    EligibilityFailure,
    EligibilityReport,
    FailureCode,
    check_eligibility,
)
from reseller_plans.domain.errors import (
    AliasTaken,
    IllegalTransition,
    NotEligible,
    ResellerPlansError,
)
from reseller_plans.domain.events import Requested
from reseller_plans.domain.lifecycle import Context, Trigger
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan, Timing, plan_move
from reseller_plans.domain.subscription import (
    Channel,
    OperationKind,
    PendingKind,
    Subscription,
    SubscriptionStatus,
    Term,
)
from reseller_plans.service.access import authorize_reseller_of
from reseller_plans.service.decisions import (
    UNDER_WAY,
    Commit,
    Decision,
    Facts,
    Need,
    Refusal,
    Then,
    UpgradeRequest,
)
from reseller_plans.service.messages import command_entry, date_text

__all__ = [
    "plan_cancel",
    "plan_change",
    "plan_check",
    "plan_operation",
    "plan_resumption",
    "plan_retry",
    "plan_suspension",
    "plan_upgrade",
    "plan_withdraw",
]


def _refusing(decide: Callable[[], Decision]) -> Decision:
    # The planners raise the domain's own errors, as the domain does; they come back as values.
    try:
        return decide()
    except ResellerPlansError as error:
        return Refusal(error)


def plan_check(
    facts: Facts, plan: Plan, alias: str | StorefrontAlias | None
) -> EligibilityReport | Need:
    """The eligibility report of the account (``facts.account``) for ``plan``."""
    account, distributor, live = facts.account, facts.distributor, facts.live
    if account is None or distributor is None:
        return Need.PROFILES
    current = account.plan if live is None else live.effective_plan
    report = check_eligibility(distributor, attrs.evolve(account, plan=current), plan, alias=alias)
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
        held = facts.hold is not None and facts.hold.account_id != account.id
        if not held and facts.alias_free is None:
            return Need.ALIAS_AVAILABILITY
        if held or not facts.alias_free:
            report = report.with_failure(
                EligibilityFailure(
                    FailureCode.ALIAS_TAKEN,
                    f"the Storefront Alias {parsed.value!r} is taken",
                    "choose another alias",
                )
            )
    return report


def plan_upgrade(request: UpgradeRequest, facts: Facts, new_id: Callable[[], str]) -> Decision:
    """Decide an upgrade: an activation, a Free → Standard plan change, or a refusal.

    ``facts.account`` and ``facts.live`` must be given; ``new_id`` names a new subscription.
    """
    return _refusing(lambda: _upgrade(request, facts, new_id))


def _upgrade(r: UpgradeRequest, facts: Facts, new_id: Callable[[], str]) -> Decision:
    account, live, alias = facts.account, facts.live, r.alias
    if account is None:
        return Need.PROFILES
    authorize_reseller_of(r.actor, account.distributor_id, account.id)
    if live is not None and live.status is SubscriptionStatus.PENDING:
        raise IllegalTransition("pending", "upgrade", UNDER_WAY)
    if live is not None and live.effective_plan is Plan.FREE and r.plan is Plan.STANDARD:
        if alias is not None and alias != live.alias:
            raise IllegalTransition(
                live.status.value,
                "change the Storefront Alias of",
                f"the reseller keeps its alias {live.alias} when it moves to Standard",
            )
        # Free → Standard is the purchase of the Standard product: an immediate plan change.
        return _change(
            live,
            facts,
            Plan.STANDARD,
            Timing.IMMEDIATE,
            platform_initiated=r.channel is Channel.PLATFORM,
            platform_subscription_id=r.platform_subscription_id,
        )
    if live is not None and plan_move(live.effective_plan, r.plan).legal:
        raise IllegalTransition(
            live.status.value,
            "upgrade",
            f"the account is on the {live.effective_plan.title} plan already; "
            "use change_plan to move between Free and Standard",
        )
    if alias is None:
        raise StorefrontAlias.missing()
    distributor = facts.distributor
    if distributor is None:
        return Need.PROFILES
    current = account.plan if live is None else live.effective_plan
    report = check_eligibility(distributor, attrs.evolve(account, plan=current), r.plan)
    if not report.eligible:
        raise NotEligible(report)
    if facts.hold is not None and facts.hold.account_id != account.id:
        raise AliasTaken(alias.value)
    if facts.alias_free is None:
        return Need.ALIAS_AVAILABILITY
    if not facts.alias_free:
        raise AliasTaken(alias.value)
    if live is not None:
        raise IllegalTransition("pending", "upgrade", UNDER_WAY)
    now = facts.now
    channel = r.channel or (Channel.BSS if r.actor.is_distributor else Channel.STOREFRONT)
    sub = Subscription(
        id=new_id(),
        account_id=account.id,
        distributor_id=account.distributor_id,
        plan=r.plan,
        alias=alias,
        status=SubscriptionStatus.PENDING,
        term=Term.starting(now, r.billing_cycle, r.auto_renew),
        channel=channel,
        platform_subscription_id=r.platform_subscription_id,
    )
    product = distributor.product_for(r.plan) or ""
    started = saga.start(sub, OperationKind.ACTIVATION, product_id=product)
    requested = Requested(sub.id, now, account.id, r.plan, channel.value)
    return Commit(started, (requested,), reserve_alias=alias.value)


def plan_change(
    sub: Subscription,
    facts: Facts,
    plan: Plan,
    timing: Timing | None,
    *,
    platform_initiated: bool = False,
) -> Decision:
    """Decide a move between Free and Standard: at once (a saga), or scheduled."""
    return _refusing(
        lambda: _change(sub, facts, plan, timing, platform_initiated=platform_initiated)
    )


def _change(
    sub: Subscription,
    facts: Facts,
    target: Plan,
    timing: Timing | None,
    *,
    platform_initiated: bool,
    platform_subscription_id: str | None = None,
) -> Decision:
    now = facts.now
    timing = timing or plan_move(sub.plan, target).timing or Timing.IMMEDIATE
    immediate = timing is Timing.IMMEDIATE
    trigger = Trigger.CHANGE_PLAN if immediate else Trigger.SCHEDULE_PLAN_CHANGE
    ctx = Context(at=now, plan=target, effective_at=sub.term.end)
    lifecycle.check(sub, trigger, ctx)
    account, distributor = facts.account, facts.distributor
    if (target is Plan.STANDARD or not immediate) and (account is None or distributor is None):
        return Need.PROFILES
    if target is Plan.STANDARD and account is not None and distributor is not None:
        report = check_eligibility(distributor, attrs.evolve(account, plan=sub.plan), target)
        if not report.eligible:
            raise NotEligible(report)
    if immediate:
        started = saga.start(
            sub, OperationKind.PLAN_CHANGE, plan=target, platform_initiated=platform_initiated
        )
        if platform_subscription_id is not None:
            started = attrs.evolve(started, platform_subscription_id=platform_subscription_id)
        return Commit(started, expected_version=sub.version)
    result = lifecycle.apply(sub, trigger, ctx)
    extra = {
        "old_plan": sub.plan.value,
        "new_plan": target.value,
        "effective_at": date_text(sub.term.end),
    }
    return _with_message(sub, result, MessageKind.PLAN_CHANGE_SCHEDULED, extra, facts)


def plan_cancel(
    sub: Subscription, facts: Facts, timing: Timing, *, platform_initiated: bool = False
) -> Decision:
    """Decide a cancellation: at once (a saga), or at the end of the term."""
    return _refusing(lambda: _cancel(sub, facts, timing, platform_initiated))


def _cancel(sub: Subscription, facts: Facts, timing: Timing, platform_initiated: bool) -> Decision:
    if timing is Timing.IMMEDIATE:
        lifecycle.check(sub, Trigger.CANCEL, Context(at=facts.now))
        started = saga.start(sub, OperationKind.CANCELLATION, platform_initiated=platform_initiated)
        return Commit(started, expected_version=sub.version)
    ctx = Context(at=facts.now, effective_at=sub.term.end)
    result = lifecycle.apply(sub, Trigger.SCHEDULE_CANCELLATION, ctx)
    extra = {"effective_at": date_text(sub.term.end)}
    return _with_message(sub, result, MessageKind.CANCELLATION_SCHEDULED, extra, facts)


def plan_withdraw(sub: Subscription, facts: Facts) -> Decision:
    """Decide the withdrawal of a scheduled plan change or cancellation."""
    return _refusing(lambda: _withdraw(sub, facts))


def _withdraw(sub: Subscription, facts: Facts) -> Decision:
    result = lifecycle.apply(sub, Trigger.WITHDRAW_PENDING_CHANGE, Context(at=facts.now))
    change = sub.pending_change
    if change is not None and change.kind is PendingKind.CANCELLATION:
        return _with_message(sub, result, MessageKind.CANCELLATION_WITHDRAWN, {}, facts)
    return Commit(*result, expected_version=sub.version, then=Then.SEND)


def plan_operation(
    sub: Subscription,
    facts: Facts,
    trigger: Trigger,
    kind: OperationKind,
    *,
    detail: str = "",
    platform_initiated: bool = False,
) -> Decision:
    """Decide a suspension or resumption: the saga of ``kind``, if ``trigger`` is allowed."""

    def decide() -> Decision:
        lifecycle.check(sub, trigger, Context(at=facts.now, reason=detail))
        started = saga.start(sub, kind, detail=detail, platform_initiated=platform_initiated)
        return Commit(started, expected_version=sub.version)

    return _refusing(decide)


def plan_suspension(
    sub: Subscription, facts: Facts, *, reason: str = "", platform_initiated: bool = False
) -> Decision:
    """Decide a suspension (for ``reason``, carried to the email)."""
    return plan_operation(
        sub,
        facts,
        Trigger.SUSPEND,
        OperationKind.SUSPENSION,
        detail=reason,
        platform_initiated=platform_initiated,
    )


def plan_resumption(
    sub: Subscription, facts: Facts, *, platform_initiated: bool = False
) -> Decision:
    """Decide the resumption of a suspended subscription."""
    return plan_operation(
        sub, facts, Trigger.RESUME, OperationKind.RESUMPTION, platform_initiated=platform_initiated
    )


def plan_retry(sub: Subscription, facts: Facts) -> Decision:
    """Decide the retry of a failed provisioning: it resumes where it failed."""

    def decide() -> Decision:
        result = lifecycle.apply(sub, Trigger.RETRY, Context(at=facts.now))
        return Commit(*result, expected_version=sub.version)

    return _refusing(decide)


def _with_message(
    sub: Subscription,
    result: lifecycle.Result,
    kind: MessageKind,
    extra: dict[str, str],
    facts: Facts,
) -> Decision:
    account, distributor = facts.account, facts.distributor
    if account is None or distributor is None:
        return Need.PROFILES
    after, events = result
    entry = command_entry(sub, after.version, kind, extra, account, distributor, facts.now)
    return Commit(after, events, sub.version, message=entry, then=Then.SEND)
