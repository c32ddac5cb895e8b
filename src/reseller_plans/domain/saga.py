"""The provisioning sagas, sans-IO: the domain names the next step, the driver runs it.

Every provisioning operation (activation, plan change, suspension, resumption, cancellation) is a
fixed list of steps (``OPERATION_STEPS``). The service's driver asks :func:`next_step` what to
run, runs it through a port, and folds the outcome back with :func:`record`. The domain never
calls anything; a crash between two steps leaves a subscription whose ``operation`` says exactly
where to resume.

- **Done**: the step is synchronized; after the last one the operation's business transition is
  applied (``reseller_plans.domain.lifecycle``) and the operation cleared.
- **Transient failure** (the driver's retry budget is spent): the operation waits, its sync status
  failed, until ``retry`` resumes it at the same step.
- **Unknown outcome** (a write whose answer was unreadable): the step counts as *maybe done*.
  In a compensable operation it is counted done and the operation compensates at once, its own
  undo included (an undo treats "not found" as done, so undoing a write that never happened is
  harmless). A compensation step, or a step of a cancellation, whose outcome is unknown waits
  for ``retry`` like a transient failure: repeating it with the same idempotency key is safe.
- **Permanent failure**: a compensable operation runs the compensations of its done steps in
  reverse order (deactivate storefront, revoke license, cancel the platform order, …) and ends
  failed, leaving the reseller on its previous plan; an activation's subscription becomes
  ``FAILED``. A cancellation is not compensable: the provisioning side goes first (storefront,
  license) and the platform last, so a failure waits for ``retry`` rather than undoing.
"""

from __future__ import annotations

import enum

import attrs

from reseller_plans.domain.events import (
    Event,
    LicenseProvisioned,
    LicenseRevoked,
    ProvisioningFailed,
    StorefrontActivated,
    StorefrontDeactivated,
    WelcomeEmailQueued,
)
from reseller_plans.domain.evolve import evolve
from reseller_plans.domain.lifecycle import Context, Result, Trigger, apply
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import (
    Channel,
    Operation,
    OperationKind,
    StepAction,
    Subscription,
    SyncStatus,
)

__all__ = [
    "COMPENSABLE",
    "OPERATION_STEPS",
    "EXPIRY",
    "Outcome",
    "OutcomeKind",
    "SagaStep",
    "after_takeover",
    "message_for",
    "next_step",
    "record",
    "start",
    "undo_steps",
    "with_alias_steps",
]

A = StepAction
K = OperationKind

OPERATION_STEPS: dict[OperationKind, tuple[StepAction, ...]] = {
    K.ACTIVATION: (
        A.PLACE_ORDER,
        A.PROVISION_LICENSE,
        A.HOLD_ALIAS,
        A.ACTIVATE_STOREFRONT,
        A.QUEUE_EMAIL,
    ),
    K.PLAN_CHANGE: (A.PROVISION_LICENSE, A.HOLD_ALIAS, A.ACTIVATE_STOREFRONT, A.QUEUE_EMAIL),
    K.SUSPENSION: (A.SUSPEND_STOREFRONT, A.SUSPEND_ON_PLATFORM, A.QUEUE_EMAIL),
    K.RESUMPTION: (A.RESUME_ON_PLATFORM, A.RESUME_STOREFRONT, A.QUEUE_EMAIL),
    K.CANCELLATION: (
        A.DEACTIVATE_STOREFRONT,
        A.REVOKE_LICENSE,
        A.CANCEL_ON_PLATFORM,
        A.QUEUE_EMAIL,
    ),
}
"""The steps of each operation, in order. Emails always go last, so they never need undoing.

An activation holds the reseller's Storefront Alias in the Storefront just before its storefront
goes live under it; undoing the activation gives the alias back twice over: once for the hold,
and once more after its order is cancelled, since the platform's order line carried the alias
too (releasing an alias that is not held is a no-op)."""

COMPENSABLE = frozenset({K.ACTIVATION, K.PLAN_CHANGE, K.SUSPENSION, K.RESUMPTION})

_PLATFORM_STEPS = frozenset(
    {A.PLACE_ORDER, A.SUSPEND_ON_PLATFORM, A.RESUME_ON_PLATFORM, A.CANCEL_ON_PLATFORM}
)

_COMPLETES: dict[OperationKind, Trigger] = {
    K.ACTIVATION: Trigger.ACTIVATE,
    K.PLAN_CHANGE: Trigger.CHANGE_PLAN,
    K.SUSPENSION: Trigger.SUSPEND,
    K.RESUMPTION: Trigger.RESUME,
    K.CANCELLATION: Trigger.CANCEL,
}

EXPIRY = "expiry"
"""``Operation.detail`` of a cancellation started because the term ended without renewal."""


class OutcomeKind(enum.Enum):
    DONE = "done"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"


@attrs.frozen
class Outcome:
    """How a step went. Build with :meth:`done`, :meth:`transient`, :meth:`permanent` or
    :meth:`unknown`."""

    kind: OutcomeKind
    reason: str = ""
    platform_subscription_id: str | None = None

    @classmethod
    def done(cls, platform_subscription_id: str | None = None) -> Outcome:
        return cls(OutcomeKind.DONE, "", platform_subscription_id)

    @classmethod
    def transient(cls, reason: str) -> Outcome:
        return cls(OutcomeKind.TRANSIENT, reason)

    @classmethod
    def permanent(cls, reason: str) -> Outcome:
        return cls(OutcomeKind.PERMANENT, reason)

    @classmethod
    def unknown(cls, reason: str) -> Outcome:
        """The step's write may have acted (its answer was unreadable): maybe done."""
        return cls(OutcomeKind.UNKNOWN, reason)


@attrs.frozen
class SagaStep:
    """The step to run next.

    Attributes:
        action: what to do.
        plan: the plan it concerns (the license or storefront plan to put in place).
        compensation: True when it undoes an earlier step.
        message: for ``QUEUE_EMAIL``, which message to queue.
    """

    action: StepAction
    plan: Plan
    compensation: bool = False
    message: MessageKind | None = None


def message_for(op: Operation) -> MessageKind:
    """The message an operation sends to the reseller when it completes."""
    if op.kind is K.ACTIVATION:
        return MessageKind.WELCOME
    if op.kind is K.PLAN_CHANGE:
        if op.previous_plan is Plan.FREE and op.plan is Plan.STANDARD:
            return MessageKind.PLAN_UPGRADED
        return MessageKind.PLAN_CHANGED
    if op.kind is K.SUSPENSION:
        return MessageKind.SUSPENDED
    if op.kind is K.RESUMPTION:
        return MessageKind.RESUMED
    return MessageKind.CANCELLED


def start(
    sub: Subscription,
    kind: OperationKind,
    *,
    plan: Plan | None = None,
    detail: str = "",
    platform_initiated: bool = False,
    product_id: str = "",
) -> Subscription:
    """Attach a new operation to ``sub`` (the caller has checked the trigger is allowed).

    Args:
        sub: the subscription.
        kind: the operation to run.
        plan: the target plan of an activation or plan change (default: the current plan).
        detail: free text for messages (a suspension's reason), or ``EXPIRY``.
        platform_initiated: the platform itself asked (service manager): the steps that act on
            the platform (place the order, suspend, resume, cancel there) are left out.
        product_id: the catalog product an activation orders.

    Returns:
        The subscription with the operation in progress and any failed operation replaced; a
        scheduled change that this operation carries out is cleared.
    """
    target = plan or sub.plan
    previous = Plan.BASIC if kind is K.ACTIVATION else sub.plan
    steps = OPERATION_STEPS[kind]
    if platform_initiated or (kind is K.ACTIVATION and sub.channel is Channel.PLATFORM):
        steps = tuple(s for s in steps if s not in _PLATFORM_STEPS)
    elif kind is K.CANCELLATION and sub.platform_subscription_id is None:
        steps = tuple(s for s in steps if s is not A.CANCEL_ON_PLATFORM)
    op_id = f"{sub.id}-{sub.version + 1}"
    op = Operation(kind, target, previous, steps, detail=detail, id=op_id, product_id=product_id)
    pending = sub.pending_change
    if kind in (K.PLAN_CHANGE, K.CANCELLATION):
        pending = None
    return evolve(sub, operation=op, pending_change=pending, version=sub.version + 1)


def _compensation(action: StepAction, previous: Plan) -> tuple[StepAction, ...]:
    """The steps that undo ``action``, in order (none for a step with nothing to undo)."""
    if action is A.PLACE_ORDER:
        return (A.CANCEL_ON_PLATFORM, A.RELEASE_ALIAS)
    if action is A.PROVISION_LICENSE:
        return (A.REVOKE_LICENSE if previous is Plan.BASIC else A.PROVISION_LICENSE,)
    if action is A.ACTIVATE_STOREFRONT:
        return (A.DEACTIVATE_STOREFRONT if previous is Plan.BASIC else A.ACTIVATE_STOREFRONT,)
    if action is A.HOLD_ALIAS:
        return (A.RELEASE_ALIAS,) if previous is Plan.BASIC else ()
    undo = {
        A.SUSPEND_STOREFRONT: A.RESUME_STOREFRONT,
        A.SUSPEND_ON_PLATFORM: A.RESUME_ON_PLATFORM,
        A.RESUME_STOREFRONT: A.SUSPEND_STOREFRONT,
        A.RESUME_ON_PLATFORM: A.SUSPEND_ON_PLATFORM,
    }.get(action)
    return () if undo is None else (undo,)


def _compensations(op: Operation) -> list[StepAction]:
    return [
        a for i in reversed(range(op.done)) for a in _compensation(op.steps[i], op.previous_plan)
    ]


def undo_steps(op: Operation) -> list[StepAction]:
    """The compensations of the operation's done steps, in the order they run."""
    return _compensations(op)


def next_step(sub: Subscription) -> SagaStep | None:
    """The step to run now, or None when nothing is to run (no operation, or it waits for a
    retry after a failure).
    """
    op = sub.operation
    if op is None or op.sync is SyncStatus.FAILED:
        return None
    if op.compensating:
        return SagaStep(_compensations(op)[op.undone], op.previous_plan, compensation=True)
    action = op.steps[op.done]
    message = message_for(op) if action is A.QUEUE_EMAIL else None
    return SagaStep(action, op.plan, message=message)


def _step_events(sub: Subscription, step: SagaStep, ctx: Context) -> tuple[Event, ...]:
    at, sid = ctx.at, sub.id
    action = step.action
    if action is A.PROVISION_LICENSE:
        return (LicenseProvisioned(sid, at, step.plan),)
    if action is A.REVOKE_LICENSE:
        return (LicenseRevoked(sid, at),)
    if action is A.ACTIVATE_STOREFRONT:
        return (StorefrontActivated(sid, at, step.plan, str(sub.alias or "")),)
    if action is A.DEACTIVATE_STOREFRONT:
        return (StorefrontDeactivated(sid, at),)
    if action is A.QUEUE_EMAIL and step.message is MessageKind.WELCOME:
        return (WelcomeEmailQueued(sid, at, step.plan),)
    return ()


def _finish(sub: Subscription, op: Operation, ctx: Context) -> Result:
    cleared = evolve(sub, operation=None)
    if op.kind is K.CANCELLATION and op.detail == EXPIRY:
        return apply(cleared, Trigger.EXPIRE, ctx)
    trigger = _COMPLETES[op.kind]
    return apply(cleared, trigger, evolve(ctx, plan=op.plan, reason=op.detail))


def _finish_failed(sub: Subscription, op: Operation, ctx: Context) -> Result:
    reason = op.reason or "provisioning failed"
    failed = ProvisioningFailed(sub.id, ctx.at, op.kind.value, "", reason, awaiting_retry=False)
    cleared = evolve(sub, operation=None, failure_reason=reason)
    if op.kind is K.ACTIVATION:
        result = apply(cleared, Trigger.FAIL, evolve(ctx, reason=reason))
        return Result(result.subscription, (failed, *result.events))
    return Result(evolve(cleared, version=sub.version + 1), (failed,))


def record(sub: Subscription, step: SagaStep, outcome: Outcome, ctx: Context) -> Result:
    """Fold the outcome of ``step`` (as returned by :func:`next_step`) into the subscription.

    Args:
        sub: the subscription the step ran for.
        step: the step that ran.
        outcome: how it went.
        ctx: the time of the outcome.

    Returns:
        The new subscription and the events produced.
    """
    op = sub.operation
    if op is None or next_step(sub) != step:
        # A stale outcome (the operation moved on, or was replaced): nothing to fold in.
        return Result(sub, ())
    if outcome.kind is OutcomeKind.DONE:
        events = _step_events(sub, step, ctx)
        changes: dict[str, object] = {}
        if outcome.platform_subscription_id is not None:
            changes["platform_subscription_id"] = outcome.platform_subscription_id
        if step.compensation:
            op = evolve(op, undone=op.undone + 1)
            finish, last = _finish_failed, op.undone == len(_compensations(op))
        else:
            op = evolve(op, done=op.done + 1)
            finish, last = _finish, op.done == len(op.steps)
        sub = evolve(sub, operation=op, version=sub.version + 1, **changes)
        if last:
            result = finish(sub, op, ctx)
            return Result(result.subscription, events + result.events)
        return Result(sub, events)

    reason = outcome.reason or outcome.kind.value
    must_wait = (
        outcome.kind is OutcomeKind.TRANSIENT or step.compensation or op.kind not in COMPENSABLE
    )
    if outcome.kind is OutcomeKind.UNKNOWN and not must_wait:
        # Maybe done: count the step done, so that the compensation undoes it with the rest.
        op = evolve(op, done=op.done + 1)
    if must_wait:
        # A failed undo step keeps the reason of the failure that started the undoing: that
        # is the reason the activation will end with (the event names the undo step's own).
        kept = op.reason if step.compensation else reason
        op = evolve(op, sync=SyncStatus.FAILED, reason=kept)
        event = ProvisioningFailed(
            sub.id, ctx.at, op.kind.value, step.action.value, reason, awaiting_retry=True
        )
        return Result(evolve(sub, operation=op, version=sub.version + 1), (event,))
    op = evolve(op, compensating=True, reason=f"{step.action.value}: {reason}")
    sub = evolve(sub, operation=op, version=sub.version + 1)
    if not _compensations(op):
        return _finish_failed(sub, op, ctx)
    return Result(sub, ())


def after_takeover(outcome: Outcome) -> Outcome:
    """The outcome of the first step a driver runs after taking the lease over from an owner
    that never gave it back (its process died or froze, maybe in the middle of this very step).

    A permanent failure now does not prove that the previous owner's attempt did not act: the
    step counts as maybe done (:meth:`Outcome.unknown`), so that a compensation undoes it too.
    Any other outcome stands.
    """
    if outcome.kind is OutcomeKind.PERMANENT:
        return Outcome.unknown(
            f"{outcome.reason} (after a takeover: the previous try may have acted)"
        )
    return outcome


def with_alias_steps(op: Operation) -> Operation:
    """An activation stored before the alias hold became a step of its own, in today's steps.

    Such an activation held the alias inside its storefront step and gave it back inside the
    undo of that step and of its order. The hold is put back before the storefront step, and the
    counts of done and undone steps moved so that nothing done is run again and nothing left
    to do is skipped: the alias is held before the storefront goes live, and given back at the
    end of an undo. Any other operation is returned as it is.
    """
    steps = op.steps
    if op.kind is not K.ACTIVATION or A.HOLD_ALIAS in steps or A.ACTIVATE_STOREFRONT not in steps:
        return op
    at = steps.index(A.ACTIVATE_STOREFRONT)
    new_steps = (*steps[:at], A.HOLD_ALIAS, *steps[at:])
    if op.done <= at:  # the storefront step has not run: hold the alias before it
        return evolve(op, steps=new_steps)
    # The storefront went live (the alias held with it): the hold counts as done. Its undo
    # (give the alias back) comes right after the storefront's, which the old undo did at once.
    undone = op.undone + 1 if op.compensating and op.undone >= 1 else op.undone
    return evolve(op, steps=new_steps, done=op.done + 1, undone=undone)
