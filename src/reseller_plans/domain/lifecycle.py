"""The subscription state machine, as one checked table.

Each row of ``TRANSITIONS`` is (source status, trigger, guard, target status). ``apply`` finds the
row for the subscription's status and the trigger, checks the guard, and returns the new
subscription with the events the transition produced. A trigger with no row raises
``IllegalTransition`` naming the status and the trigger; a guard that refuses raises it with the
reason (``ChangePending`` when another change is already scheduled). ``can`` answers the same
question without raising.

Transitions that need the provisioning side (activate, suspend, resume, change plan, cancel) are
*completed* here by the saga (``reseller_plans.domain.saga``) once its steps ran: a command first
checks the trigger with ``check``, the saga then runs, and its last step applies the trigger.

Rules (``docs/concepts.md``): one pending change at a time; nothing but ``RETRY`` and ``CANCEL``
while provisioning has failed, and nothing at all while an operation is in progress; cancelled and
failed are final; a term end renews with auto-renew on and otherwise expires into a cancellation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar

import attrs

from reseller_plans.domain.enums import DomainEnum
from reseller_plans.domain.errors import ChangePending, IllegalTransition
from reseller_plans.domain.events import (
    Activated,
    ActivationFailed,
    CancellationScheduled,
    Cancelled,
    Event,
    Expired,
    PendingChangeWithdrawn,
    PlanChanged,
    PlanChangeScheduled,
    ProvisioningRetried,
    Renewed,
    Resumed,
    RevertedToBasic,
    Suspended,
)
from reseller_plans.domain.evolve import evolve
from reseller_plans.domain.plans import Plan, plan_move
from reseller_plans.domain.subscription import (
    Operation,
    PendingChange,
    PendingKind,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    Term,
)

__all__ = [
    "FINAL_STATES",
    "INITIAL_STATE",
    "TRANSITIONS",
    "Context",
    "Result",
    "Transition",
    "Trigger",
    "apply",
    "can",
    "check",
    "mermaid_diagram",
    "transition_for",
]

S = SubscriptionStatus
_V = TypeVar("_V")


class Trigger(DomainEnum):
    """What may happen to a subscription."""

    ACTIVATE = "activate"
    FAIL = "fail"
    SUSPEND = "suspend"
    RESUME = "resume"
    CHANGE_PLAN = "change_plan"
    SCHEDULE_PLAN_CHANGE = "schedule_plan_change"
    SCHEDULE_CANCELLATION = "schedule_cancellation"
    WITHDRAW_PENDING_CHANGE = "withdraw_pending_change"
    CANCEL = "cancel"
    RENEW = "renew"
    EXPIRE = "expire"
    RETRY = "retry"


@attrs.frozen
class Context:
    """The facts a transition needs besides the subscription."""

    at: dt.datetime
    plan: Plan | None = None
    effective_at: dt.datetime | None = None
    reason: str = ""


class Result(NamedTuple):
    """A transition's outcome: the new subscription and the events it produced."""

    subscription: Subscription
    events: tuple[Event, ...]


Guard = Callable[[Subscription, Context], str | None]
"""Returns None to allow, or the reason for refusing."""
Effect = Callable[[Subscription, Context], Result]


@attrs.frozen
class Transition:
    """One row of the table."""

    source: SubscriptionStatus
    trigger: Trigger
    target: SubscriptionStatus
    guards: tuple[Guard, ...]
    effect: Effect = attrs.field(repr=False)


# --- guards ---------------------------------------------------------------------------------


def _idle(sub: Subscription, ctx: Context) -> str | None:
    op = sub.operation
    if op is None:
        return None
    if op.sync is SyncStatus.FAILED:
        return f"provisioning of the {op.kind.value} has failed; retry it or cancel"
    return f"the {op.kind.value} is still in progress"


def _idle_or_failed(sub: Subscription, ctx: Context) -> str | None:
    op = sub.operation
    if op is None or op.sync is SyncStatus.FAILED:
        return None
    return f"the {op.kind.value} is still in progress"


def _provisioning_failed(sub: Subscription, ctx: Context) -> str | None:
    if sub.provisioning_failed:
        return None
    return "provisioning has not failed; there is nothing to retry"


def _no_pending(sub: Subscription, ctx: Context) -> str | None:
    change = sub.pending_change
    if change is None:
        return None
    what = "a plan change" if change.kind is PendingKind.PLAN_CHANGE else "a cancellation"
    return f"{what} is already scheduled for {change.effective_at.isoformat()}; withdraw it first"


def _no_other_pending(sub: Subscription, ctx: Context) -> str | None:
    """Like ``_no_pending``, but lets through the scheduled plan change that is due now."""
    change = sub.pending_change
    if (
        change is not None
        and change.kind is PendingKind.PLAN_CHANGE
        and change.plan is ctx.plan
        and change.effective_at <= ctx.at
    ):
        return None
    return _no_pending(sub, ctx)


def _has_pending(sub: Subscription, ctx: Context) -> str | None:
    return None if sub.pending_change is not None else "no change is scheduled"


def _legal_plan_change(sub: Subscription, ctx: Context) -> str | None:
    if ctx.plan is None:
        return "a target plan is required"
    if ctx.plan is Plan.BASIC:
        return "moving to Basic is a cancellation; cancel the subscription"
    move = plan_move(sub.plan, ctx.plan)
    return None if move.legal else move.how


def _effective_later(sub: Subscription, ctx: Context) -> str | None:
    if ctx.effective_at is None:
        return "the time the change takes effect is required"
    if ctx.effective_at < ctx.at:
        return "the time the change takes effect is in the past"
    return None


def _term_ended(sub: Subscription, ctx: Context) -> str | None:
    return None if ctx.at >= sub.term.end else "the term has not ended yet"


def _auto_renew(sub: Subscription, ctx: Context) -> str | None:
    return None if sub.term.auto_renew else "auto-renew is off"


def _no_auto_renew(sub: Subscription, ctx: Context) -> str | None:
    return None if not sub.term.auto_renew else "auto-renew is on"


# --- effects --------------------------------------------------------------------------------


def _given(value: _V | None) -> _V:
    # The guards of every row that reaches an effect have checked the value is present.
    if value is None:  # pragma: no cover - unreachable behind the guards
        raise IllegalTransition("unknown", "apply", "a required value is missing")
    return value


_new = object.__new__
_KEEP: Any = object()


def _evolve(
    sub: Subscription,
    *,
    status: SubscriptionStatus = _KEEP,
    plan: Plan = _KEEP,
    term: Term = _KEEP,
    pending_change: PendingChange | None = _KEEP,
    operation: Operation | None = _KEEP,
    failure_reason: str | None = _KEEP,
) -> Subscription:
    # attrs.evolve, specialized for the fields a transition changes: a copy of the frozen
    # value's attribute dict (Subscription has no validators to run). Transitions are the hot
    # path of every simulation, and this is three times cheaper than attrs.evolve.
    # test_lifecycle checks it against attrs.evolve.
    new: Subscription = _new(Subscription)
    state = new.__dict__
    state.update(sub.__dict__)
    if status is not _KEEP:
        state["status"] = status
    if plan is not _KEEP:
        state["plan"] = plan
    if term is not _KEEP:
        state["term"] = term
    if pending_change is not _KEEP:
        state["pending_change"] = pending_change
    if operation is not _KEEP:
        state["operation"] = operation
    if failure_reason is not _KEEP:
        state["failure_reason"] = failure_reason
    state["version"] = sub.version + 1
    return new


def _activate(sub: Subscription, ctx: Context) -> Result:
    new = _evolve(sub, status=S.ACTIVE, failure_reason=None)
    return Result(new, (Activated(sub.id, ctx.at, sub.plan),))


def _fail(sub: Subscription, ctx: Context) -> Result:
    new = _evolve(sub, status=S.FAILED, failure_reason=ctx.reason)
    return Result(new, (ActivationFailed(sub.id, ctx.at, ctx.reason),))


def _suspend(sub: Subscription, ctx: Context) -> Result:
    return Result(_evolve(sub, status=S.SUSPENDED), (Suspended(sub.id, ctx.at, ctx.reason),))


def _resume(sub: Subscription, ctx: Context) -> Result:
    return Result(_evolve(sub, status=S.ACTIVE), (Resumed(sub.id, ctx.at),))


def _change_plan(sub: Subscription, ctx: Context) -> Result:
    plan = _given(ctx.plan)
    new = _evolve(sub, plan=plan, pending_change=None, failure_reason=None)
    return Result(new, (PlanChanged(sub.id, ctx.at, sub.plan, plan),))


def _schedule_plan_change(sub: Subscription, ctx: Context) -> Result:
    plan, effective_at = _given(ctx.plan), _given(ctx.effective_at)
    change = PendingChange(PendingKind.PLAN_CHANGE, effective_at, plan)
    event = PlanChangeScheduled(sub.id, ctx.at, plan, effective_at)
    return Result(_evolve(sub, pending_change=change), (event,))


def _schedule_cancellation(sub: Subscription, ctx: Context) -> Result:
    effective_at = _given(ctx.effective_at)
    change = PendingChange(PendingKind.CANCELLATION, effective_at)
    event = CancellationScheduled(sub.id, ctx.at, effective_at)
    return Result(_evolve(sub, pending_change=change), (event,))


def _withdraw(sub: Subscription, ctx: Context) -> Result:
    change = _given(sub.pending_change)
    event = PendingChangeWithdrawn(sub.id, ctx.at, change.kind.value)
    return Result(_evolve(sub, pending_change=None), (event,))


def _cancel(sub: Subscription, ctx: Context) -> Result:
    new = _evolve(sub, status=S.CANCELLED, pending_change=None, operation=None)
    return Result(new, (Cancelled(sub.id, ctx.at), RevertedToBasic(sub.id, ctx.at, sub.account_id)))


def _expire(sub: Subscription, ctx: Context) -> Result:
    # An expiry is a cancellation that records why first.
    cancelled = _cancel(sub, ctx)
    return Result(cancelled.subscription, (Expired(sub.id, ctx.at), *cancelled.events))


def _renew(sub: Subscription, ctx: Context) -> Result:
    term = sub.term.renewed()
    return Result(_evolve(sub, term=term), (Renewed(sub.id, ctx.at, term.end),))


def _retry(sub: Subscription, ctx: Context) -> Result:
    failed = _given(sub.operation)
    reason = failed.reason if failed.compensating else None  # why the undoing began
    op = evolve(failed, sync=SyncStatus.IN_PROGRESS, reason=reason)
    event = ProvisioningRetried(sub.id, ctx.at, op.kind.value)
    return Result(_evolve(sub, operation=op), (event,))


# --- the table ------------------------------------------------------------------------------

T = Transition
_LIVE = (S.ACTIVE, S.SUSPENDED)

TRANSITIONS: tuple[Transition, ...] = (
    T(S.PENDING, Trigger.ACTIVATE, S.ACTIVE, (_idle,), _activate),
    T(S.PENDING, Trigger.FAIL, S.FAILED, (_idle,), _fail),
    T(S.PENDING, Trigger.RETRY, S.PENDING, (_provisioning_failed,), _retry),
    T(S.PENDING, Trigger.CANCEL, S.CANCELLED, (_idle_or_failed,), _cancel),
    T(S.ACTIVE, Trigger.SUSPEND, S.SUSPENDED, (_idle,), _suspend),
    T(S.SUSPENDED, Trigger.RESUME, S.ACTIVE, (_idle,), _resume),
    T(S.ACTIVE, Trigger.CHANGE_PLAN, S.ACTIVE, (_idle, _no_other_pending, _legal_plan_change),
      _change_plan),
    T(
        S.ACTIVE,
        Trigger.SCHEDULE_PLAN_CHANGE,
        S.ACTIVE,
        (_idle, _no_pending, _legal_plan_change, _effective_later),
        _schedule_plan_change,
    ),
    *(
        T(s, Trigger.SCHEDULE_CANCELLATION, s, (_idle, _no_pending, _effective_later),
          _schedule_cancellation)
        for s in _LIVE
    ),
    *(T(s, Trigger.WITHDRAW_PENDING_CHANGE, s, (_idle, _has_pending), _withdraw) for s in _LIVE),
    *(T(s, Trigger.CANCEL, S.CANCELLED, (_idle_or_failed,), _cancel) for s in _LIVE),
    *(T(s, Trigger.RENEW, s, (_idle, _term_ended, _auto_renew), _renew) for s in _LIVE),
    *(T(s, Trigger.EXPIRE, S.CANCELLED, (_idle, _term_ended, _no_auto_renew), _expire)
      for s in _LIVE),
    *(T(s, Trigger.RETRY, s, (_provisioning_failed,), _retry) for s in _LIVE),
)  # fmt: skip
"""Every allowed (status, trigger) pair. Anything else is an ``IllegalTransition``."""

INITIAL_STATE = S.PENDING
FINAL_STATES = frozenset({S.CANCELLED, S.FAILED})

_BY_KEY: dict[tuple[SubscriptionStatus, Trigger], Transition] = {
    (t.source, t.trigger): t for t in TRANSITIONS
}


def transition_for(status: SubscriptionStatus, trigger: Trigger) -> Transition | None:
    """The row for (status, trigger), or None when the pair is not allowed at all."""
    return _BY_KEY.get((status, trigger))


def _refusal(sub: Subscription, trigger: Trigger, ctx: Context) -> IllegalTransition | None:
    row = _BY_KEY.get((sub.status, trigger))
    state = sub.status.value
    if row is None:
        return IllegalTransition(state, trigger.value)
    for guard in row.guards:
        reason = guard(sub, ctx)
        if reason is not None:
            if guard is _no_pending or guard is _no_other_pending:
                return ChangePending(state, trigger.value, reason)
            return IllegalTransition(state, trigger.value, reason)
    return None


def check(sub: Subscription, trigger: Trigger, ctx: Context) -> None:
    """Raise ``IllegalTransition`` (or ``ChangePending``) unless ``trigger`` is allowed now."""
    refusal = _refusal(sub, trigger, ctx)
    if refusal is not None:
        raise refusal


def can(sub: Subscription, trigger: Trigger, ctx: Context) -> bool:
    """Whether ``trigger`` is allowed now, without raising."""
    return _refusal(sub, trigger, ctx) is None


def apply(sub: Subscription, trigger: Trigger, ctx: Context) -> Result:
    """Apply ``trigger``: the new subscription and the events produced.

    Raises:
        IllegalTransition: no row for (status, trigger), or a guard refused.
        ChangePending: another change is already scheduled.
    """
    row = _BY_KEY.get((sub.status, trigger))
    if row is None:
        raise IllegalTransition(sub.status.value, trigger.value)
    for guard in row.guards:
        if guard(sub, ctx) is not None:
            check(sub, trigger, ctx)  # raises with the reason
    return row.effect(sub, ctx)


def mermaid_diagram(transitions: Iterable[Transition] = TRANSITIONS) -> str:
    """The table as a Mermaid ``stateDiagram-v2`` (committed in ``docs/lifecycle.md``)."""
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL_STATE.value}"]
    seen: set[tuple[str, str, str]] = set()
    for t in transitions:
        key = (t.source.value, t.target.value, t.trigger.value)
        if key not in seen:
            seen.add(key)
            lines.append(f"    {key[0]} --> {key[1]}: {key[2]}")
    lines += [f"    {s.value} --> [*]" for s in sorted(FINAL_STATES, key=lambda s: s.value)]
    return "\n".join(lines) + "\n"
