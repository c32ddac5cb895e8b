"""The subscription state machine: every row of the table, every refused pair, every guard."""

from __future__ import annotations

import datetime as dt
import itertools
import pickle
from collections.abc import Callable
from typing import NamedTuple

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle_builders import (
    T0,
    ctx,
    make_operation,
    make_subscription,
    pending_change,
)
from reseller_plans.domain import lifecycle
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
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import (
    BillingCycle,
    OperationKind,
    PendingChange,
    PendingKind,
    StepAction,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    Term,
    add_months,
)

S = SubscriptionStatus
Trigger = lifecycle.Trigger
SID, ACCOUNT = "SUB-1", "3542"
TERM_END = add_months(T0, 1)


# --- every row of the table ---------------------------------------------------------------


class Scenario(NamedTuple):
    """A subscription in a row's source state that satisfies its guards, the context, the
    events the transition must produce and the fields it must change (besides status, version).
    """

    sub: Subscription
    context: lifecycle.Context
    events: tuple[Event, ...]
    changes: dict[str, object]


def _activate(source: SubscriptionStatus) -> Scenario:
    events = (Activated(SID, T0, Plan.STANDARD),)
    return Scenario(make_subscription(source), ctx(), events, {"failure_reason": None})


def _fail(source: SubscriptionStatus) -> Scenario:
    reason = "the license was refused"
    events = (ActivationFailed(SID, T0, reason),)
    return Scenario(
        make_subscription(source), ctx(reason=reason), events, {"failure_reason": reason}
    )


def _retry(source: SubscriptionStatus) -> Scenario:
    kind = OperationKind.ACTIVATION if source is S.PENDING else OperationKind.PLAN_CHANGE
    op = make_operation(kind, sync=SyncStatus.FAILED)
    resumed = attrs.evolve(op, sync=SyncStatus.IN_PROGRESS, reason=None)
    events = (ProvisioningRetried(SID, T0, kind.value),)
    return Scenario(make_subscription(source, operation=op), ctx(), events, {"operation": resumed})


def _cancel(source: SubscriptionStatus) -> Scenario:
    change = None if source is S.PENDING else pending_change()
    sub = make_subscription(source, pending_change=change)
    events = (Cancelled(SID, T0), RevertedToBasic(SID, T0, ACCOUNT))
    return Scenario(sub, ctx(), events, {"pending_change": None, "operation": None})


def _suspend(source: SubscriptionStatus) -> Scenario:
    events = (Suspended(SID, T0, "non-payment"),)
    return Scenario(make_subscription(source), ctx(reason="non-payment"), events, {})


def _resume(source: SubscriptionStatus) -> Scenario:
    return Scenario(make_subscription(source), ctx(), (Resumed(SID, T0),), {})


def _change_plan(source: SubscriptionStatus) -> Scenario:
    events = (PlanChanged(SID, T0, Plan.STANDARD, Plan.FREE),)
    changes = {"plan": Plan.FREE, "failure_reason": None}
    return Scenario(make_subscription(source), ctx(plan=Plan.FREE), events, changes)


def _schedule_plan_change(source: SubscriptionStatus) -> Scenario:
    context = ctx(plan=Plan.FREE, effective_at=TERM_END)
    events = (PlanChangeScheduled(SID, T0, Plan.FREE, TERM_END),)
    change = PendingChange(PendingKind.PLAN_CHANGE, TERM_END, Plan.FREE)
    return Scenario(make_subscription(source), context, events, {"pending_change": change})


def _schedule_cancellation(source: SubscriptionStatus) -> Scenario:
    events = (CancellationScheduled(SID, T0, TERM_END),)
    change = PendingChange(PendingKind.CANCELLATION, TERM_END)
    context = ctx(effective_at=TERM_END)
    return Scenario(make_subscription(source), context, events, {"pending_change": change})


def _withdraw(source: SubscriptionStatus) -> Scenario:
    sub = make_subscription(source, pending_change=pending_change(PendingKind.CANCELLATION))
    events = (PendingChangeWithdrawn(SID, T0, "cancellation"),)
    return Scenario(sub, ctx(), events, {"pending_change": None})


def _renew(source: SubscriptionStatus) -> Scenario:
    anchor = make_subscription(source).term.start.day
    term = Term(TERM_END, add_months(TERM_END, 1), anchor_day=anchor)
    events = (Renewed(SID, TERM_END, term.end),)
    return Scenario(make_subscription(source), ctx(TERM_END), events, {"term": term})


def _expire(source: SubscriptionStatus) -> Scenario:
    sub = make_subscription(source, auto_renew=False, pending_change=pending_change())
    events = (
        Expired(SID, TERM_END),
        Cancelled(SID, TERM_END),
        RevertedToBasic(SID, TERM_END, ACCOUNT),
    )
    return Scenario(sub, ctx(TERM_END), events, {"pending_change": None})


_SCENARIOS: dict[lifecycle.Trigger, Callable[[SubscriptionStatus], Scenario]] = {
    Trigger.ACTIVATE: _activate,
    Trigger.FAIL: _fail,
    Trigger.RETRY: _retry,
    Trigger.CANCEL: _cancel,
    Trigger.SUSPEND: _suspend,
    Trigger.RESUME: _resume,
    Trigger.CHANGE_PLAN: _change_plan,
    Trigger.SCHEDULE_PLAN_CHANGE: _schedule_plan_change,
    Trigger.SCHEDULE_CANCELLATION: _schedule_cancellation,
    Trigger.WITHDRAW_PENDING_CHANGE: _withdraw,
    Trigger.RENEW: _renew,
    Trigger.EXPIRE: _expire,
}


def _row_id(row: lifecycle.Transition) -> str:
    return f"{row.source.value}-{row.trigger.value}-{row.target.value}"


@pytest.mark.parametrize("row", lifecycle.TRANSITIONS, ids=_row_id)
def test_every_row_of_the_table_moves_to_its_target_with_its_events_and_one_more_version(
    row: lifecycle.Transition,
) -> None:
    assert row.trigger in _SCENARIOS, f"write a scenario for the new trigger {row.trigger}"
    sub, context, events, changes = _SCENARIOS[row.trigger](row.source)
    assert lifecycle.can(sub, row.trigger, context)
    lifecycle.check(sub, row.trigger, context)  # does not raise

    result = lifecycle.apply(sub, row.trigger, context)

    expected = attrs.evolve(sub, status=row.target, version=sub.version + 1, **changes)  # type: ignore[arg-type]
    assert result.subscription == expected
    assert result.events == events
    assert sub.version == 1, "the subscription applied to is left unchanged"


@pytest.mark.parametrize("row", lifecycle.TRANSITIONS, ids=_row_id)
def test_transition_for_returns_each_row_of_the_table(row: lifecycle.Transition) -> None:
    assert lifecycle.transition_for(row.source, row.trigger) is row


# --- every pair that is not in the table ---------------------------------------------------

_ALLOWED = {(t.source, t.trigger) for t in lifecycle.TRANSITIONS}
REFUSED = sorted(
    set(itertools.product(SubscriptionStatus, Trigger)) - _ALLOWED,
    key=lambda pair: (pair[0].value, pair[1].value),
)


def test_the_table_has_at_most_one_row_per_state_and_trigger() -> None:
    assert len(_ALLOWED) == len(lifecycle.TRANSITIONS)


@pytest.mark.parametrize(
    ("status", "trigger"), REFUSED, ids=[f"{s.value}-{t.value}" for s, t in REFUSED]
)
def test_a_pair_not_in_the_table_is_an_illegal_transition_naming_state_and_action(
    status: SubscriptionStatus, trigger: lifecycle.Trigger
) -> None:
    # A context that would satisfy every guard: the refusal comes from the table alone.
    sub = make_subscription(status, auto_renew=trigger is not Trigger.EXPIRE)
    context = ctx(TERM_END, plan=Plan.FREE, effective_at=TERM_END, reason="because")

    with pytest.raises(IllegalTransition) as raised:
        lifecycle.apply(sub, trigger, context)

    error = raised.value
    assert type(error) is IllegalTransition
    assert (error.state, error.action) == (status.value, trigger.value)
    assert str(error) == f"cannot {trigger.value} a subscription that is {status.value}"
    assert not lifecycle.can(sub, trigger, context)
    assert lifecycle.transition_for(status, trigger) is None
    with pytest.raises(IllegalTransition, match=trigger.value):
        lifecycle.check(sub, trigger, context)


@pytest.mark.parametrize("status", sorted(lifecycle.FINAL_STATES, key=lambda s: s.value))
def test_a_final_state_refuses_every_trigger(status: SubscriptionStatus) -> None:
    sub = make_subscription(status)
    context = ctx(TERM_END, plan=Plan.FREE, effective_at=TERM_END)
    for trigger in Trigger:
        assert not lifecycle.can(sub, trigger, context), trigger
        with pytest.raises(IllegalTransition):
            lifecycle.apply(sub, trigger, context)


# --- guards ---------------------------------------------------------------------------------


def _refusal(sub: Subscription, trigger: lifecycle.Trigger, context: lifecycle.Context) -> str:
    """Apply ``trigger`` expecting a refusal; returns the reason after checking the basics."""
    assert not lifecycle.can(sub, trigger, context)
    with pytest.raises(IllegalTransition) as raised:
        lifecycle.apply(sub, trigger, context)
    assert (raised.value.state, raised.value.action) == (sub.status.value, trigger.value)
    assert raised.value.reason
    assert raised.value.reason in str(raised.value)
    return raised.value.reason


_PENDING_GUARDED = [
    (S.ACTIVE, Trigger.CHANGE_PLAN),
    (S.ACTIVE, Trigger.SCHEDULE_PLAN_CHANGE),
    (S.ACTIVE, Trigger.SCHEDULE_CANCELLATION),
    (S.SUSPENDED, Trigger.SCHEDULE_CANCELLATION),
]


@pytest.mark.parametrize("kind", list(PendingKind))
@pytest.mark.parametrize(
    ("status", "trigger"),
    _PENDING_GUARDED,
    ids=[f"{s.value}-{t.value}" for s, t in _PENDING_GUARDED],
)
def test_a_second_change_while_one_is_scheduled_raises_change_pending(
    status: SubscriptionStatus, trigger: lifecycle.Trigger, kind: PendingKind
) -> None:
    sub = make_subscription(status, pending_change=pending_change(kind))
    context = ctx(plan=Plan.FREE, effective_at=TERM_END)

    assert not lifecycle.can(sub, trigger, context)
    with pytest.raises(ChangePending) as raised:
        lifecycle.apply(sub, trigger, context)
    assert "withdraw it first" in raised.value.reason
    assert (raised.value.state, raised.value.action) == (status.value, trigger.value)


def test_change_pending_names_what_is_scheduled_and_when() -> None:
    sub = make_subscription(S.ACTIVE, pending_change=pending_change(PendingKind.PLAN_CHANGE, 10))
    with pytest.raises(ChangePending, match="a plan change is already scheduled for 2025-01-25"):
        lifecycle.apply(sub, Trigger.CHANGE_PLAN, ctx(plan=Plan.FREE))
    sub = make_subscription(S.ACTIVE, pending_change=pending_change(PendingKind.CANCELLATION))
    with pytest.raises(ChangePending, match="a cancellation is already scheduled"):
        lifecycle.apply(sub, Trigger.SCHEDULE_CANCELLATION, ctx(effective_at=TERM_END))


def test_a_due_scheduled_plan_change_can_be_carried_out_but_no_other_change() -> None:
    due = pending_change(PendingKind.PLAN_CHANGE, days=0, plan=Plan.FREE)
    sub = make_subscription(S.ACTIVE, Plan.STANDARD, pending_change=due)
    with pytest.raises(ChangePending):
        lifecycle.check(sub, Trigger.SCHEDULE_CANCELLATION, ctx(effective_at=TERM_END))

    lifecycle.check(sub, Trigger.CHANGE_PLAN, ctx(plan=Plan.FREE))

    changed = lifecycle.apply(sub, Trigger.CHANGE_PLAN, ctx(plan=Plan.FREE)).subscription
    assert (changed.plan, changed.pending_change) == (Plan.FREE, None)


def test_a_scheduled_change_does_not_block_suspend_cancel_renew_or_withdraw() -> None:
    sub = make_subscription(S.ACTIVE, pending_change=pending_change())
    assert lifecycle.can(sub, Trigger.SUSPEND, ctx())
    assert lifecycle.can(sub, Trigger.CANCEL, ctx())
    assert lifecycle.can(sub, Trigger.RENEW, ctx(TERM_END))
    assert lifecycle.can(sub, Trigger.WITHDRAW_PENDING_CHANGE, ctx())


# Satisfies every guard but the one under test: after the term end, a legal plan, a future time.
PERMISSIVE = ctx(TERM_END, plan=Plan.FREE, effective_at=TERM_END, reason="because")


_NOT_RETRY_OR_CANCEL = [
    t for t in lifecycle.TRANSITIONS if t.trigger not in (Trigger.RETRY, Trigger.CANCEL)
]


@pytest.mark.parametrize("row", _NOT_RETRY_OR_CANCEL, ids=_row_id)
def test_while_provisioning_has_failed_only_retry_and_cancel_are_allowed(
    row: lifecycle.Transition,
) -> None:
    sub = make_subscription(row.source, operation=make_operation(sync=SyncStatus.FAILED))
    reason = _refusal(sub, row.trigger, PERMISSIVE)
    assert reason == "provisioning of the plan_change has failed; retry it or cancel"


@pytest.mark.parametrize("status", [S.PENDING, S.ACTIVE, S.SUSPENDED])
def test_retry_and_cancel_are_allowed_while_provisioning_has_failed(
    status: SubscriptionStatus,
) -> None:
    sub = make_subscription(status, operation=make_operation(sync=SyncStatus.FAILED))
    assert lifecycle.can(sub, Trigger.RETRY, ctx())
    assert lifecycle.can(sub, Trigger.CANCEL, ctx())
    cancelled = lifecycle.apply(sub, Trigger.CANCEL, ctx()).subscription
    assert cancelled.status is S.CANCELLED
    assert cancelled.operation is None


@pytest.mark.parametrize("row", lifecycle.TRANSITIONS, ids=_row_id)
def test_nothing_is_allowed_while_an_operation_is_in_progress(row: lifecycle.Transition) -> None:
    sub = make_subscription(row.source, operation=make_operation(OperationKind.SUSPENSION))
    reason = _refusal(sub, row.trigger, PERMISSIVE)
    if row.trigger is Trigger.RETRY:
        assert reason == "provisioning has not failed; there is nothing to retry"
    else:
        assert reason == "the suspension is still in progress"


@pytest.mark.parametrize("status", [S.PENDING, S.ACTIVE, S.SUSPENDED])
def test_retry_without_a_failed_operation_is_refused(status: SubscriptionStatus) -> None:
    reason = _refusal(make_subscription(status), Trigger.RETRY, ctx())
    assert reason == "provisioning has not failed; there is nothing to retry"


@pytest.mark.parametrize("trigger", [Trigger.CHANGE_PLAN, Trigger.SCHEDULE_PLAN_CHANGE])
def test_standard_to_free_is_a_legal_plan_change(trigger: lifecycle.Trigger) -> None:
    sub = make_subscription(S.ACTIVE, Plan.STANDARD)
    assert lifecycle.can(sub, trigger, ctx(plan=Plan.FREE, effective_at=TERM_END))


def test_free_to_standard_is_a_legal_immediate_plan_change() -> None:
    sub = make_subscription(S.ACTIVE, Plan.FREE)
    result = lifecycle.apply(sub, Trigger.CHANGE_PLAN, ctx(plan=Plan.STANDARD))
    assert result.subscription.plan is Plan.STANDARD
    assert result.events == (PlanChanged(SID, T0, Plan.FREE, Plan.STANDARD),)


def test_a_successful_plan_change_clears_the_last_failure_reason() -> None:
    sub = make_subscription(S.ACTIVE, failure_reason="storefront refused")
    result = lifecycle.apply(sub, Trigger.CHANGE_PLAN, ctx(plan=Plan.FREE))
    assert result.subscription.failure_reason is None


@pytest.mark.parametrize("trigger", [Trigger.CHANGE_PLAN, Trigger.SCHEDULE_PLAN_CHANGE])
@pytest.mark.parametrize("plan", [Plan.FREE, Plan.STANDARD])
def test_a_change_to_the_plan_already_held_is_refused(
    trigger: lifecycle.Trigger, plan: Plan
) -> None:
    sub = make_subscription(S.ACTIVE, plan)
    reason = _refusal(sub, trigger, ctx(plan=plan, effective_at=TERM_END))
    assert reason == f"the reseller is already on the {plan.title} plan"


@pytest.mark.parametrize("trigger", [Trigger.CHANGE_PLAN, Trigger.SCHEDULE_PLAN_CHANGE])
def test_a_change_to_basic_is_refused_as_a_cancellation(trigger: lifecycle.Trigger) -> None:
    sub = make_subscription(S.ACTIVE)
    reason = _refusal(sub, trigger, ctx(plan=Plan.BASIC, effective_at=TERM_END))
    assert reason == "moving to Basic is a cancellation; cancel the subscription"


@pytest.mark.parametrize("trigger", [Trigger.CHANGE_PLAN, Trigger.SCHEDULE_PLAN_CHANGE])
def test_a_plan_change_without_a_target_plan_is_refused(trigger: lifecycle.Trigger) -> None:
    reason = _refusal(make_subscription(S.ACTIVE), trigger, ctx(effective_at=TERM_END))
    assert reason == "a target plan is required"


_SCHEDULES = [
    (S.ACTIVE, Trigger.SCHEDULE_PLAN_CHANGE),
    (S.ACTIVE, Trigger.SCHEDULE_CANCELLATION),
    (S.SUSPENDED, Trigger.SCHEDULE_CANCELLATION),
]
_SCHEDULE_IDS = [f"{s.value}-{t.value}" for s, t in _SCHEDULES]


@pytest.mark.parametrize(("status", "trigger"), _SCHEDULES, ids=_SCHEDULE_IDS)
def test_a_change_scheduled_in_the_past_is_refused(
    status: SubscriptionStatus, trigger: lifecycle.Trigger
) -> None:
    sub = make_subscription(status)
    past = T0 - dt.timedelta(seconds=1)
    reason = _refusal(sub, trigger, ctx(plan=Plan.FREE, effective_at=past))
    assert reason == "the time the change takes effect is in the past"


@pytest.mark.parametrize(("status", "trigger"), _SCHEDULES, ids=_SCHEDULE_IDS)
def test_a_change_scheduled_for_now_is_allowed(
    status: SubscriptionStatus, trigger: lifecycle.Trigger
) -> None:
    sub = make_subscription(status)
    result = lifecycle.apply(sub, trigger, ctx(plan=Plan.FREE, effective_at=T0))
    assert result.subscription.pending_change is not None
    assert result.subscription.pending_change.effective_at == T0


@pytest.mark.parametrize(("status", "trigger"), _SCHEDULES, ids=_SCHEDULE_IDS)
def test_a_change_scheduled_without_a_time_is_refused(
    status: SubscriptionStatus, trigger: lifecycle.Trigger
) -> None:
    reason = _refusal(make_subscription(status), trigger, ctx(plan=Plan.FREE))
    assert reason == "the time the change takes effect is required"


@pytest.mark.parametrize("status", [S.ACTIVE, S.SUSPENDED])
def test_withdraw_without_a_scheduled_change_is_refused(status: SubscriptionStatus) -> None:
    reason = _refusal(make_subscription(status), Trigger.WITHDRAW_PENDING_CHANGE, ctx())
    assert reason == "no change is scheduled"


@pytest.mark.parametrize("status", [S.ACTIVE, S.SUSPENDED])
def test_withdrawing_a_scheduled_plan_change_names_its_kind(status: SubscriptionStatus) -> None:
    sub = make_subscription(status, pending_change=pending_change(PendingKind.PLAN_CHANGE))
    result = lifecycle.apply(sub, Trigger.WITHDRAW_PENDING_CHANGE, ctx())
    assert result.events == (PendingChangeWithdrawn(SID, T0, "plan_change"),)
    assert result.subscription.pending_change is None


@pytest.mark.parametrize("status", [S.ACTIVE, S.SUSPENDED])
@pytest.mark.parametrize("trigger", [Trigger.RENEW, Trigger.EXPIRE])
def test_renew_and_expire_are_refused_before_the_term_ends(
    status: SubscriptionStatus, trigger: lifecycle.Trigger
) -> None:
    sub = make_subscription(status, auto_renew=trigger is Trigger.RENEW)
    just_before = TERM_END - dt.timedelta(microseconds=1)
    assert _refusal(sub, trigger, ctx(just_before)) == "the term has not ended yet"


@pytest.mark.parametrize("status", [S.ACTIVE, S.SUSPENDED])
def test_renew_needs_auto_renew(status: SubscriptionStatus) -> None:
    sub = make_subscription(status, auto_renew=False)
    assert _refusal(sub, Trigger.RENEW, ctx(TERM_END)) == "auto-renew is off"
    assert lifecycle.can(sub, Trigger.EXPIRE, ctx(TERM_END))


@pytest.mark.parametrize("status", [S.ACTIVE, S.SUSPENDED])
def test_expire_only_without_auto_renew(status: SubscriptionStatus) -> None:
    sub = make_subscription(status, auto_renew=True)
    assert _refusal(sub, Trigger.EXPIRE, ctx(TERM_END)) == "auto-renew is on"
    assert lifecycle.can(sub, Trigger.RENEW, ctx(TERM_END))


def test_renewal_long_after_the_term_end_starts_the_next_term_at_the_old_end() -> None:
    sub = make_subscription(S.ACTIVE)
    late = TERM_END + dt.timedelta(days=3)
    renewed = lifecycle.apply(sub, Trigger.RENEW, ctx(late)).subscription
    assert renewed.term.start == TERM_END
    assert renewed.term.end == add_months(TERM_END, 1)


def test_an_annual_subscription_renews_for_twelve_months() -> None:
    sub = make_subscription(S.ACTIVE, cycle=BillingCycle.ANNUAL)
    assert sub.term.end == dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
    renewed = lifecycle.apply(sub, Trigger.RENEW, ctx(sub.term.end)).subscription
    assert renewed.term == Term(
        sub.term.end, dt.datetime(2027, 1, 15, 9, 30, tzinfo=dt.UTC), BillingCycle.ANNUAL, True, 15
    )


def test_check_raises_the_same_refusal_as_apply() -> None:
    sub = make_subscription(S.ACTIVE, pending_change=pending_change())
    with pytest.raises(ChangePending):
        lifecycle.check(sub, Trigger.SCHEDULE_CANCELLATION, ctx(effective_at=TERM_END))
    with pytest.raises(IllegalTransition, match="the term has not ended yet"):
        lifecycle.check(sub, Trigger.RENEW, ctx())


def test_illegal_transition_without_a_reason_reads_as_a_sentence() -> None:
    error = IllegalTransition("cancelled", "resume")
    assert str(error) == "cannot resume a subscription that is cancelled"
    assert error.reason == ""
    assert isinstance(ChangePending("active", "change_plan", "x"), IllegalTransition)


# --- terms and calendar months --------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (dt.datetime(2025, 1, 31), 1, dt.datetime(2025, 2, 28)),
        (dt.datetime(2024, 1, 31), 1, dt.datetime(2024, 2, 29)),
        (dt.datetime(2025, 3, 31), 1, dt.datetime(2025, 4, 30)),
        (dt.datetime(2025, 12, 15), 1, dt.datetime(2026, 1, 15)),
        (dt.datetime(2025, 1, 31), 13, dt.datetime(2026, 2, 28)),
        (dt.datetime(2024, 2, 29), 12, dt.datetime(2025, 2, 28)),
        (dt.datetime(2024, 2, 29), 48, dt.datetime(2028, 2, 29)),
        (dt.datetime(2025, 3, 31), -1, dt.datetime(2025, 2, 28)),
        (dt.datetime(2025, 1, 15), -1, dt.datetime(2024, 12, 15)),
        (dt.datetime(2025, 5, 10, 8, 45), 0, dt.datetime(2025, 5, 10, 8, 45)),
    ],
)
def test_add_months_moves_whole_calendar_months_and_clamps_the_day(
    start: dt.datetime, months: int, expected: dt.datetime
) -> None:
    assert add_months(start, months) == expected


def test_add_months_keeps_the_time_of_day_and_the_time_zone() -> None:
    start = dt.datetime(2025, 1, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert add_months(start, 1) == dt.datetime(2025, 2, 28, 23, 59, 59, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("cycle", "months"), [(BillingCycle.MONTHLY, 1), (BillingCycle.ANNUAL, 12)]
)
def test_a_term_lasts_its_billing_cycle(cycle: BillingCycle, months: int) -> None:
    start = dt.datetime(2024, 1, 31, tzinfo=dt.UTC)
    term = Term.starting(start, cycle, auto_renew=False)
    assert cycle.months == months
    assert (term.start, term.end) == (start, add_months(start, months))
    assert term.auto_renew is False
    renewed = Term(term.end, add_months(term.end, months, start.day), cycle, False, start.day)
    assert term.renewed() == renewed


def test_a_monthly_term_from_january_31_ends_on_the_last_day_of_february() -> None:
    term = Term.starting(dt.datetime(2024, 1, 31, tzinfo=dt.UTC))
    assert term.end == dt.datetime(2024, 2, 29, tzinfo=dt.UTC)
    assert Term.starting(dt.datetime(2025, 1, 31)).end == dt.datetime(2025, 2, 28)


def test_an_annual_term_from_february_29_ends_on_february_28() -> None:
    term = Term.starting(dt.datetime(2024, 2, 29), BillingCycle.ANNUAL)
    assert term.end == dt.datetime(2025, 2, 28)
    assert term.renewed().end == dt.datetime(2026, 2, 28)


# --- the aggregate's derived views ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "effective", "live"),
    [
        (S.PENDING, Plan.BASIC, True),
        (S.ACTIVE, Plan.STANDARD, True),
        (S.SUSPENDED, Plan.STANDARD, True),
        (S.CANCELLED, Plan.BASIC, False),
        (S.FAILED, Plan.BASIC, False),
    ],
)
def test_the_effective_plan_is_the_subscriptions_only_while_active_or_suspended(
    status: SubscriptionStatus, effective: Plan, live: bool
) -> None:
    sub = make_subscription(status, Plan.STANDARD)
    assert sub.effective_plan is effective
    assert sub.is_live is live
    assert status.is_final is (not live)


def test_without_an_operation_the_subscription_is_synchronized() -> None:
    sub = make_subscription(S.ACTIVE)
    assert sub.sync_status is SyncStatus.SYNCHRONIZED
    assert not sub.provisioning_failed
    assert sub.provisioning() == {}


def test_provisioning_reports_the_sync_status_of_each_step() -> None:
    op = attrs.evolve(make_operation(OperationKind.ACTIVATION), done=2, sync=SyncStatus.FAILED)
    sub = make_subscription(operation=op)
    assert sub.sync_status is SyncStatus.FAILED
    assert sub.provisioning_failed
    assert list(sub.provisioning().items()) == [
        (StepAction.PLACE_ORDER, SyncStatus.SYNCHRONIZED),
        (StepAction.PROVISION_LICENSE, SyncStatus.SYNCHRONIZED),
        (StepAction.HOLD_ALIAS, SyncStatus.FAILED),
        (StepAction.ACTIVATE_STOREFRONT, SyncStatus.NOT_STARTED),
        (StepAction.QUEUE_EMAIL, SyncStatus.NOT_STARTED),
    ]


@given(
    status=st.sampled_from(list(SubscriptionStatus)),
    plan=st.sampled_from([Plan.FREE, Plan.STANDARD]),
    reason=st.none() | st.text(max_size=5),
)
def test_the_fast_evolve_of_the_state_machine_matches_attrs_evolve(
    status: SubscriptionStatus, plan: Plan, reason: str | None
) -> None:
    sub = make_subscription(
        S.ACTIVE, pending_change=pending_change(), operation=make_operation(), version=7
    )
    changed = lifecycle._evolve(sub, status=status, plan=plan, failure_reason=reason)
    expected = attrs.evolve(
        sub, status=status, plan=plan, failure_reason=reason, version=sub.version + 1
    )
    assert changed == expected
    assert lifecycle._evolve(sub) == attrs.evolve(sub, version=sub.version + 1)


def test_domain_enums_hash_like_their_identity_and_survive_pickling() -> None:
    for member in (*SubscriptionStatus, *Plan, *lifecycle.Trigger):
        assert hash(member) == object.__hash__(member)
        assert pickle.loads(pickle.dumps(member)) is member  # noqa: S301 - our own bytes


def test_terms_keep_the_day_of_the_month_they_started_on() -> None:
    term = Term.starting(dt.datetime(2026, 1, 31, 9, tzinfo=dt.UTC))
    ends = []
    for _ in range(5):
        ends.append(term.end.date().isoformat())
        term = term.renewed()
    # a short month ends on its last day without pulling later terms earlier
    assert ends == ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30"]
