"""Builders shared by the lifecycle, saga and stateful tests: subscriptions in a given state,
contexts at a fixed time, and a tiny driver that runs a saga with scripted outcomes.

Everything is built from values (no fakes of our own code), so a test reads as the facts it
starts from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs

from reseller_plans.domain import lifecycle, saga
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.events import Event
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import (
    BillingCycle,
    Operation,
    OperationKind,
    PendingChange,
    PendingKind,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    Term,
)

S = SubscriptionStatus
T0 = dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC)
"""When every subscription built here starts its term."""
ALIAS = StorefrontAlias.parse("techsolutions")


def make_subscription(
    status: SubscriptionStatus = S.PENDING,
    plan: Plan = Plan.STANDARD,
    *,
    cycle: BillingCycle = BillingCycle.MONTHLY,
    auto_renew: bool = True,
    **changes: object,
) -> Subscription:
    """A subscription of reseller ``3542`` of distributor ``D-100`` in ``status``."""
    sub = Subscription(
        id="SUB-1",
        account_id="3542",
        distributor_id="D-100",
        plan=plan,
        alias=ALIAS,
        status=status,
        term=Term.starting(T0, cycle, auto_renew),
    )
    return attrs.evolve(sub, **changes)  # type: ignore[arg-type]


def make_operation(
    kind: OperationKind = OperationKind.PLAN_CHANGE,
    *,
    sync: SyncStatus = SyncStatus.IN_PROGRESS,
    plan: Plan = Plan.FREE,
    previous_plan: Plan = Plan.STANDARD,
) -> Operation:
    """An operation of ``kind`` at its first step, in progress or failed."""
    reason = "timeout" if sync is SyncStatus.FAILED else None
    return Operation(
        kind, plan, previous_plan, saga.OPERATION_STEPS[kind], sync=sync, reason=reason
    )


def pending_change(
    kind: PendingKind = PendingKind.PLAN_CHANGE, days: int = 10, plan: Plan = Plan.FREE
) -> PendingChange:
    target = plan if kind is PendingKind.PLAN_CHANGE else Plan.BASIC
    return PendingChange(kind, T0 + dt.timedelta(days=days), target)


def ctx(at: dt.datetime = T0, **changes: object) -> lifecycle.Context:
    return lifecycle.Context(at=at, **changes)  # type: ignore[arg-type]


def run_saga(
    sub: Subscription,
    outcomes: Iterable[saga.Outcome] = (),
    *,
    at: dt.datetime = T0,
) -> tuple[Subscription, list[saga.SagaStep], list[Event]]:
    """Run the saga of ``sub``: the given outcomes first, then ``done`` until it stops.

    Returns the final subscription, the steps in the order they ran and every event produced.
    """
    scripted = iter(outcomes)
    steps: list[saga.SagaStep] = []
    events: list[Event] = []
    context = ctx(at)
    while (step := saga.next_step(sub)) is not None:
        steps.append(step)
        outcome = next(scripted, saga.Outcome.done())
        before = sub.version
        sub, produced = saga.record(sub, step, outcome, context)
        assert sub.version > before, f"{step.action} did not advance the version"
        events.extend(produced)
    return sub, steps, events


def event_names(events: Iterable[Event]) -> list[str]:
    return [e.name for e in events]


__all__ = [
    "ALIAS",
    "T0",
    "ctx",
    "event_names",
    "make_operation",
    "make_subscription",
    "pending_change",
    "run_saga",
]
