"""What each command on a subscription asks, parsed from the façade's arguments.

A :class:`SubscriptionCommand` is one call of ``change_plan``, ``cancel``, ``withdraw_change``,
``suspend``, ``resume`` or ``retry``: its parsed arguments, the :class:`~.access.Request` its
idempotency key remembers, and its planner (``service.planning``) with the request bound. The
façade builds one and hands it to ``Commands.on_subscription``; the previews use the same
planners, so a preview and its command decide alike.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import attrs

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.lifecycle import Trigger
from reseller_plans.domain.subscription import Subscription
from reseller_plans.service import inputs, planning
from reseller_plans.service.access import Request, authorize_distributor
from reseller_plans.service.decisions import Decision, Facts

__all__ = [
    "SubscriptionCommand",
    "cancel",
    "change_plan",
    "resume",
    "retry",
    "suspend",
    "withdraw_change",
]

SubscriptionPlanner = Callable[[Subscription, Facts], Decision]


@attrs.frozen
class SubscriptionCommand:
    """One command on an existing subscription, ready to run.

    Attributes:
        subscription_id: the subscription.
        actor: who acts.
        key: the caller's idempotency key, if any.
        request: what the key remembers.
        planner: the command's planner, its arguments bound.
        distributor_only: only the subscription's distributor may run it.
        reason: the reason the caller gave, for the audit trail.
    """

    subscription_id: str
    actor: Actor
    key: str | None
    request: Request
    planner: SubscriptionPlanner
    distributor_only: bool = False
    reason: str | None = None


def change_plan(
    subscription_id: object,
    plan: object,
    actor: object,
    timing: object,
    key: object = None,
    platform_initiated: object = False,
    reason: object = None,
) -> SubscriptionCommand:
    """``change_plan``'s arguments, parsed."""
    sid, who, key = inputs.command_arguments(subscription_id, actor, key)
    target = inputs.parse_plan(plan)
    when = None if timing is None else inputs.parse_timing(timing)
    planner = partial(
        planning.plan_change,
        plan=target,
        timing=when,
        platform_initiated=inputs.flag(platform_initiated, "platform_initiated"),
    )
    request = Request.of("change_plan", sid, target.value, when)
    return SubscriptionCommand(sid, who, key, request, planner, reason=inputs.reason(reason))


def cancel(
    subscription_id: object,
    actor: object,
    timing: object,
    key: object = None,
    platform_initiated: object = False,
    reason: object = None,
) -> SubscriptionCommand:
    """``cancel``'s arguments, parsed."""
    sid, who, key = inputs.command_arguments(subscription_id, actor, key)
    when = inputs.parse_timing(timing)
    planner = partial(
        planning.plan_cancel,
        timing=when,
        platform_initiated=inputs.flag(platform_initiated, "platform_initiated"),
    )
    request = Request.of("cancel", sid, when.value)
    return SubscriptionCommand(sid, who, key, request, planner, reason=inputs.reason(reason))


def withdraw_change(
    subscription_id: object, actor: object, reason: object = None
) -> SubscriptionCommand:
    """``withdraw_change``'s arguments, parsed."""
    sid, who, _ = inputs.command_arguments(subscription_id, actor, None)
    request = Request.of("withdraw_change")
    return SubscriptionCommand(
        sid, who, None, request, planning.plan_withdraw, reason=inputs.reason(reason)
    )


def suspend(
    subscription_id: object, actor: object, reason: object, key: object, platform_initiated: object
) -> SubscriptionCommand:
    """``suspend``'s arguments, parsed; a reseller is refused before anything is read."""
    sid, who, key = inputs.command_arguments(subscription_id, actor, key)
    why = inputs.text(reason, "reason")
    authorize_distributor(who)
    planner = partial(
        planning.plan_suspension,
        reason=why,
        platform_initiated=inputs.flag(platform_initiated, "platform_initiated"),
    )
    request = Request.of(Trigger.SUSPEND.value, sid, why)
    return SubscriptionCommand(
        sid, who, key, request, planner, distributor_only=True, reason=why or None
    )


def resume(
    subscription_id: object,
    actor: object,
    key: object,
    platform_initiated: object,
    reason: object = None,
) -> SubscriptionCommand:
    """``resume``'s arguments, parsed; a reseller is refused before anything is read."""
    sid, who, key = inputs.command_arguments(subscription_id, actor, key)
    authorize_distributor(who)
    planner = partial(
        planning.plan_resumption,
        platform_initiated=inputs.flag(platform_initiated, "platform_initiated"),
    )
    request = Request.of(Trigger.RESUME.value, sid, "")
    return SubscriptionCommand(
        sid, who, key, request, planner, distributor_only=True, reason=inputs.reason(reason)
    )


def retry(subscription_id: object, actor: object, reason: object = None) -> SubscriptionCommand:
    """``retry``'s arguments, parsed."""
    sid, who, _ = inputs.command_arguments(subscription_id, actor, None)
    return SubscriptionCommand(
        sid,
        who,
        None,
        Request.of("retry"),
        planning.plan_retry,
        distributor_only=True,
        reason=inputs.reason(reason),
    )
