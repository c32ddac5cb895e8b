"""Random command sequences against the state machine and the saga, checked against a small
model written here independently of ``lifecycle`` and ``saga``.

The commands are those a service would issue: start an operation (``check`` then
``saga.start``), report each step's outcome (done, transient, permanent), retry, schedule and
withdraw changes, carry out a scheduled change when it is due, renew or expire at the term end,
and let time pass. After every command the subscription must agree with the model and keep the
invariants of the domain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import attrs
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from lifecycle_builders import ALIAS
from reseller_plans.domain import lifecycle, saga
from reseller_plans.domain.errors import ChangePending, IllegalTransition
from reseller_plans.domain.events import Event
from reseller_plans.domain.plans import Plan
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

A = StepAction
K = OperationKind
S = SubscriptionStatus
Trigger = lifecycle.Trigger
START = dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)  # a month end, on purpose

# --- the model: plain Python, written from DOMAIN.md, not from the code under test ----------

LIVE = frozenset({S.PENDING, S.ACTIVE, S.SUSPENDED})
FINAL = frozenset({S.CANCELLED, S.FAILED})
ON_PLATFORM = frozenset(
    {A.PLACE_ORDER, A.SUSPEND_ON_PLATFORM, A.RESUME_ON_PLATFORM, A.CANCEL_ON_PLATFORM}
)
MODEL_STEPS = {
    K.ACTIVATION: [
        A.PLACE_ORDER,
        A.PROVISION_LICENSE,
        A.HOLD_ALIAS,
        A.ACTIVATE_STOREFRONT,
        A.QUEUE_EMAIL,
    ],
    K.PLAN_CHANGE: [A.PROVISION_LICENSE, A.HOLD_ALIAS, A.ACTIVATE_STOREFRONT, A.QUEUE_EMAIL],
    K.SUSPENSION: [A.SUSPEND_STOREFRONT, A.SUSPEND_ON_PLATFORM, A.QUEUE_EMAIL],
    K.RESUMPTION: [A.RESUME_ON_PLATFORM, A.RESUME_STOREFRONT, A.QUEUE_EMAIL],
    K.CANCELLATION: [
        A.DEACTIVATE_STOREFRONT,
        A.REVOKE_LICENSE,
        A.CANCEL_ON_PLATFORM,
        A.QUEUE_EMAIL,
    ],
}
COMPLETED_BY = {
    K.ACTIVATION: Trigger.ACTIVATE,
    K.PLAN_CHANGE: Trigger.CHANGE_PLAN,
    K.SUSPENSION: Trigger.SUSPEND,
    K.RESUMPTION: Trigger.RESUME,
    K.CANCELLATION: Trigger.CANCEL,
}
SOURCES = {
    Trigger.ACTIVATE: {S.PENDING},
    Trigger.FAIL: {S.PENDING},
    Trigger.RETRY: LIVE,
    Trigger.CANCEL: LIVE,
    Trigger.SUSPEND: {S.ACTIVE},
    Trigger.RESUME: {S.SUSPENDED},
    Trigger.CHANGE_PLAN: {S.ACTIVE},
    Trigger.SCHEDULE_PLAN_CHANGE: {S.ACTIVE},
    Trigger.SCHEDULE_CANCELLATION: {S.ACTIVE, S.SUSPENDED},
    Trigger.WITHDRAW_PENDING_CHANGE: {S.ACTIVE, S.SUSPENDED},
    Trigger.RENEW: {S.ACTIVE, S.SUSPENDED},
    Trigger.EXPIRE: {S.ACTIVE, S.SUSPENDED},
}


def model_undo(action: StepAction, previous: Plan) -> tuple[StepAction, ...]:
    """The steps that undo a done step when an operation fails for good, in order (none for
    a step with nothing to undo)."""
    back_to_basic = previous is Plan.BASIC
    return {
        # The platform's order line carried the alias too: it is given back after the order.
        A.PLACE_ORDER: (A.CANCEL_ON_PLATFORM, A.RELEASE_ALIAS),
        A.PROVISION_LICENSE: (A.REVOKE_LICENSE if back_to_basic else A.PROVISION_LICENSE,),
        # A plan change's hold of the alias it keeps has nothing to undo.
        A.HOLD_ALIAS: (A.RELEASE_ALIAS,) if back_to_basic else (),
        A.ACTIVATE_STOREFRONT: (
            A.DEACTIVATE_STOREFRONT if back_to_basic else A.ACTIVATE_STOREFRONT,
        ),
        A.SUSPEND_STOREFRONT: (A.RESUME_STOREFRONT,),
        A.RESUME_STOREFRONT: (A.SUSPEND_STOREFRONT,),
        A.SUSPEND_ON_PLATFORM: (A.RESUME_ON_PLATFORM,),
        A.RESUME_ON_PLATFORM: (A.SUSPEND_ON_PLATFORM,),
    }.get(action, ())


def model_month_end(when: dt.datetime, months: int, day: int | None = None) -> dt.datetime:
    """``when`` plus calendar months, one month at a time, on ``day`` (default ``when``'s)
    clamped to the month's last day."""
    year, month = when.year, when.month
    for _ in range(months):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    first_of_next = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (first_of_next - dt.timedelta(days=1)).day
    return when.replace(year=year, month=month, day=min(day or when.day, last_day))


@dataclass
class ModelOperation:
    kind: OperationKind
    target: Plan
    previous: Plan
    steps: list[StepAction]
    detail: str
    done: int = 0
    undo: list[StepAction] | None = None
    undone: int = 0
    waiting: bool = False

    def next_action(self) -> StepAction | None:
        if self.waiting:
            return None
        if self.undo is not None:
            return self.undo[self.undone]
        return self.steps[self.done]


@dataclass
class Model:
    status: SubscriptionStatus
    plan: Plan
    channel: Channel
    term_end: dt.datetime
    months: int
    auto_renew: bool
    on_platform: bool
    pending: list[tuple[PendingKind, dt.datetime, Plan]] = field(default_factory=list)
    op: ModelOperation | None = None

    def refusal(
        self,
        trigger: lifecycle.Trigger,
        now: dt.datetime,
        plan: Plan | None = None,
        effective_at: dt.datetime | None = None,
        *,
        ignoring_pending: bool = False,
    ) -> type[IllegalTransition] | None:
        """None when ``trigger`` is allowed, else the error it must raise."""
        pending = [] if ignoring_pending else self.pending
        op = self.op
        if self.status not in SOURCES[trigger]:
            return IllegalTransition
        if trigger is Trigger.RETRY:
            return None if op is not None and op.waiting else IllegalTransition
        if trigger is Trigger.CANCEL:
            return None if op is None or op.waiting else IllegalTransition
        if op is not None:
            return IllegalTransition
        changes = (Trigger.CHANGE_PLAN, Trigger.SCHEDULE_PLAN_CHANGE, Trigger.SCHEDULE_CANCELLATION)
        due_change_carried_out = (
            trigger is Trigger.CHANGE_PLAN
            and len(pending) == 1
            and pending[0][0] is PendingKind.PLAN_CHANGE
            and pending[0][2] is plan
            and pending[0][1] <= now
        )
        if trigger in changes and pending and not due_change_carried_out:
            return ChangePending
        if trigger in (Trigger.CHANGE_PLAN, Trigger.SCHEDULE_PLAN_CHANGE) and (
            plan in (None, Plan.BASIC, self.plan)
        ):
            return IllegalTransition
        if trigger in (Trigger.SCHEDULE_PLAN_CHANGE, Trigger.SCHEDULE_CANCELLATION) and (
            effective_at is None or effective_at < now
        ):
            return IllegalTransition
        if trigger is Trigger.WITHDRAW_PENDING_CHANGE and not pending:
            return IllegalTransition
        if trigger in (Trigger.RENEW, Trigger.EXPIRE):
            if now < self.term_end:
                return IllegalTransition
            if self.auto_renew is not (trigger is Trigger.RENEW):
                return IllegalTransition
        return None

    def start(self, kind: OperationKind, plan: Plan | None, detail: str, platform: bool) -> None:
        steps = list(MODEL_STEPS[kind])
        if platform or (kind is K.ACTIVATION and self.channel is Channel.PLATFORM):
            steps = [s for s in steps if s not in ON_PLATFORM]
        elif kind is K.CANCELLATION and not self.on_platform:
            steps.remove(A.CANCEL_ON_PLATFORM)
        previous = Plan.BASIC if kind is K.ACTIVATION else self.plan
        self.op = ModelOperation(kind, plan or self.plan, previous, steps, detail)
        if kind in (K.PLAN_CHANGE, K.CANCELLATION):
            self.pending = []


# --- the machine ---------------------------------------------------------------------------

OUTCOMES = {
    "done": saga.Outcome.done(),
    "transient": saga.Outcome.transient("timeout"),
    "permanent": saga.Outcome.permanent("refused"),
}


class LifecycleMachine(RuleBasedStateMachine):
    sub: Subscription
    model: Model
    now: dt.datetime
    last_step: saga.SagaStep | None

    @initialize(
        plan=st.sampled_from([Plan.FREE, Plan.STANDARD]),
        channel=st.sampled_from(list(Channel)),
        cycle=st.sampled_from(list(BillingCycle)),
        auto_renew=st.booleans(),
        activate=st.booleans(),
    )
    def create(
        self, plan: Plan, channel: Channel, cycle: BillingCycle, auto_renew: bool, activate: bool
    ) -> None:
        self.now = START
        platform_id = "PLT-1" if channel is Channel.PLATFORM else None
        self.sub = Subscription(
            id="SUB-1",
            account_id="3542",
            distributor_id="D-100",
            plan=plan,
            alias=ALIAS,
            status=S.PENDING,
            term=Term.starting(START, cycle, auto_renew),
            channel=channel,
            platform_subscription_id=platform_id,
        )
        self.model = Model(
            status=S.PENDING,
            plan=plan,
            channel=channel,
            term_end=model_month_end(START, cycle.months),
            months=cycle.months,
            auto_renew=auto_renew,
            on_platform=platform_id is not None,
        )
        self.last_step = None
        if activate:  # most lifecycles start with the upgrade's activation under way
            self.start_operation(K.ACTIVATION, plan, platform=False)

    # -- helpers --

    def _ctx(self, **changes: object) -> lifecycle.Context:
        return lifecycle.Context(at=self.now, **changes)  # type: ignore[arg-type]

    def _commit(self, new: Subscription) -> None:
        assert new.version > self.sub.version, "every change advances the version"
        self.sub = new

    def _expect(
        self,
        trigger: lifecycle.Trigger,
        context: lifecycle.Context,
        refusal: type[IllegalTransition] | None,
        sub: Subscription | None = None,
    ) -> bool:
        """Check the machine agrees with the model on whether ``trigger`` is allowed now."""
        sub = sub or self.sub
        assert lifecycle.can(sub, trigger, context) is (refusal is None), (trigger, refusal)
        if refusal is None:
            lifecycle.check(sub, trigger, context)
            return True
        with pytest.raises(refusal) as raised:
            lifecycle.check(sub, trigger, context)
        if refusal is IllegalTransition:
            assert not isinstance(raised.value, ChangePending)
        assert (raised.value.state, raised.value.action) == (sub.status.value, trigger.value)
        return False

    def _finish(self, op: ModelOperation, events: tuple[Event, ...]) -> None:
        names = [e.name for e in events]
        m = self.model
        m.op = None
        expiry = " (expiry)" if op.detail == saga.EXPIRY else ""
        compensated = " after compensating" if op.undo is not None else ""
        event(f"finished {op.kind.value}{expiry}{compensated}")
        if op.undo is not None:  # compensated
            if op.kind is K.ACTIVATION:
                m.status = S.FAILED
                assert names[-1] == "ActivationFailed"
            else:
                assert names[-1] == "ProvisioningFailed"
            return
        if op.kind is K.ACTIVATION:
            m.status = S.ACTIVE
            assert names[-1] == "Activated"
        elif op.kind is K.PLAN_CHANGE:
            m.plan = op.target
            assert names[-1] == "PlanChanged"
        elif op.kind is K.SUSPENSION:
            m.status = S.SUSPENDED
        elif op.kind is K.RESUMPTION:
            m.status = S.ACTIVE
        else:
            m.status, m.pending = S.CANCELLED, []
            tail = ["Cancelled", "RevertedToBasic"]
            if op.detail == saga.EXPIRY:
                tail.insert(0, "Expired")
            assert names[-len(tail) :] == tail

    # -- commands --

    @rule(
        kind=st.sampled_from(list(OperationKind)),
        plan=st.sampled_from(list(Plan)),
        platform=st.booleans(),
    )
    def start_operation(self, kind: OperationKind, plan: Plan, platform: bool) -> None:
        target = plan if kind is K.PLAN_CHANGE else None
        trigger = COMPLETED_BY[kind]
        refusal = self.model.refusal(trigger, self.now, target)
        if self._expect(trigger, self._ctx(plan=target), refusal):
            detail = "non-payment" if kind is K.SUSPENSION else ""
            self._commit(
                saga.start(self.sub, kind, plan=target, detail=detail, platform_initiated=platform)
            )
            self.model.start(kind, target, detail, platform)

    @rule(outcome=st.sampled_from(list(OUTCOMES)))
    def report_outcome(self, outcome: str) -> None:
        self._report(outcome)

    @rule()
    def every_remaining_step_succeeds(self) -> None:
        for _ in range(10):
            if not self._report("done"):
                break
        assert saga.next_step(self.sub) is None

    def _report(self, outcome: str) -> bool:
        """Report ``outcome`` for the current step; False when there was none to run."""
        step = saga.next_step(self.sub)
        op = self.model.op
        expected = op.next_action() if op is not None else None
        assert (step.action if step else None) == expected
        if step is None or op is None:
            return False
        assert step.compensation is (op.undo is not None)
        assert step.plan is (op.previous if step.compensation else op.target)
        if step.action is A.PLACE_ORDER and outcome == "done":
            result = saga.record(self.sub, step, saga.Outcome.done("PLT-1"), self._ctx())
            self.model.on_platform = True
        else:
            result = saga.record(self.sub, step, OUTCOMES[outcome], self._ctx())
        self._commit(result.subscription)
        self.last_step = step
        if outcome == "done":
            if op.undo is not None:
                op.undone += 1
                if op.undone == len(op.undo):
                    self._finish(op, result.events)
            else:
                op.done += 1
                if op.done == len(op.steps):
                    self._finish(op, result.events)
        elif outcome == "transient" or op.undo is not None or op.kind is K.CANCELLATION:
            op.waiting = True
        else:
            op.undo = [u for a in reversed(op.steps[: op.done]) for u in model_undo(a, op.previous)]
            if not op.undo:
                self._finish(op, result.events)
        return True

    @precondition(lambda self: self.last_step is not None)
    @rule(outcome=st.sampled_from(list(OUTCOMES)))
    def redeliver_an_old_outcome(self, outcome: str) -> None:
        step = self.last_step
        assert step is not None
        if saga.next_step(self.sub) == step:
            return  # retried: the same step is current again, so the outcome is not stale
        result = saga.record(self.sub, step, OUTCOMES[outcome], self._ctx())
        assert result.subscription is self.sub
        assert result.events == ()

    @rule()
    def retry(self) -> None:
        refusal = self.model.refusal(Trigger.RETRY, self.now)
        if self._expect(Trigger.RETRY, self._ctx(), refusal):
            self._commit(lifecycle.apply(self.sub, Trigger.RETRY, self._ctx()).subscription)
            assert self.model.op is not None
            self.model.op.waiting = False

    @rule(plan=st.sampled_from(list(Plan)), days=st.integers(-3, 40))
    def schedule_plan_change(self, plan: Plan, days: int) -> None:
        at = self.now + dt.timedelta(days=days)
        context = self._ctx(plan=plan, effective_at=at)
        refusal = self.model.refusal(Trigger.SCHEDULE_PLAN_CHANGE, self.now, plan, at)
        if self._expect(Trigger.SCHEDULE_PLAN_CHANGE, context, refusal):
            result = lifecycle.apply(self.sub, Trigger.SCHEDULE_PLAN_CHANGE, context)
            self._commit(result.subscription)
            self.model.pending.append((PendingKind.PLAN_CHANGE, at, plan))

    @rule(days=st.integers(-3, 40))
    def schedule_cancellation(self, days: int) -> None:
        at = self.now + dt.timedelta(days=days)
        context = self._ctx(effective_at=at)
        refusal = self.model.refusal(Trigger.SCHEDULE_CANCELLATION, self.now, None, at)
        if self._expect(Trigger.SCHEDULE_CANCELLATION, context, refusal):
            result = lifecycle.apply(self.sub, Trigger.SCHEDULE_CANCELLATION, context)
            self._commit(result.subscription)
            self.model.pending.append((PendingKind.CANCELLATION, at, Plan.BASIC))

    @rule()
    def withdraw_pending_change(self) -> None:
        trigger = Trigger.WITHDRAW_PENDING_CHANGE
        if self._expect(trigger, self._ctx(), self.model.refusal(trigger, self.now)):
            self._commit(lifecycle.apply(self.sub, trigger, self._ctx()).subscription)
            self.model.pending = []

    @precondition(lambda self: bool(self.model.pending) and self.model.pending[0][1] <= self.now)
    @rule()
    def carry_out_the_due_change(self) -> None:
        kind, _, plan = self.model.pending[0]
        op_kind = K.PLAN_CHANGE if kind is PendingKind.PLAN_CHANGE else K.CANCELLATION
        trigger = COMPLETED_BY[op_kind]
        target = plan if op_kind is K.PLAN_CHANGE else None
        # The scheduled change itself must not count as "another change pending".
        refusal = self.model.refusal(trigger, self.now, target, ignoring_pending=True)
        unscheduled = attrs.evolve(self.sub, pending_change=None)
        if self._expect(trigger, self._ctx(plan=target), refusal, sub=unscheduled):
            self._commit(saga.start(self.sub, op_kind, plan=target))
            self.model.start(op_kind, target, "", platform=False)
            event(f"carried out a scheduled {kind.value}")

    @rule(days=st.integers(1, 45))
    def time_passes(self, days: int) -> None:
        self.now += dt.timedelta(days=days)

    @rule()
    def renew_at_term_end(self) -> None:
        self.now = max(self.now, self.model.term_end)
        refusal = self.model.refusal(Trigger.RENEW, self.now)
        if self._expect(Trigger.RENEW, self._ctx(), refusal):
            result = lifecycle.apply(self.sub, Trigger.RENEW, self._ctx())
            self._commit(result.subscription)
            self.model.term_end = model_month_end(self.model.term_end, self.model.months, START.day)
            assert [e.name for e in result.events] == ["Renewed"]

    @rule()
    def expire_at_term_end(self) -> None:
        self.now = max(self.now, self.model.term_end)
        refusal = self.model.refusal(Trigger.EXPIRE, self.now)
        if self._expect(Trigger.EXPIRE, self._ctx(), refusal):
            self._commit(saga.start(self.sub, K.CANCELLATION, detail=saga.EXPIRY))
            self.model.start(K.CANCELLATION, None, saga.EXPIRY, platform=False)

    # -- invariants --

    @invariant()
    def agrees_with_the_model(self) -> None:
        sub, m = self.sub, self.model
        assert sub.status is m.status
        assert sub.plan is m.plan
        assert sub.term.end == m.term_end
        change = sub.pending_change
        assert ([(change.kind, change.effective_at, change.plan)] if change else []) == m.pending
        assert (sub.operation is None) is (m.op is None)
        if m.op is not None:
            assert sub.provisioning_failed is m.op.waiting
            assert sub.operation is not None
            assert sub.operation.kind is m.op.kind

    @invariant()
    def a_live_subscription_holds_exactly_one_paid_or_free_plan(self) -> None:
        if self.sub.is_live:
            assert self.sub.plan in (Plan.FREE, Plan.STANDARD)

    @invariant()
    def the_effective_plan_is_basic_only_when_pending_cancelled_or_failed(self) -> None:
        sub = self.sub
        if sub.status in (S.PENDING, S.CANCELLED, S.FAILED):
            assert sub.effective_plan is Plan.BASIC
        else:
            assert sub.effective_plan is sub.plan is not Plan.BASIC

    @invariant()
    def never_more_than_one_pending_change(self) -> None:
        assert len(self.model.pending) <= 1

    @invariant()
    def nothing_leaves_a_final_state(self) -> None:
        if self.sub.status in FINAL:
            assert self.sub.operation is None
            assert self.sub.pending_change is None
            context = self._ctx(plan=Plan.FREE, effective_at=self.now, reason="x")
            for trigger in Trigger:
                assert not lifecycle.can(self.sub, trigger, context)
            assert saga.next_step(self.sub) is None


TestLifecycleMachine = LifecycleMachine.TestCase
TestLifecycleMachine.settings = settings(
    max_examples=500,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_the_model_adds_months_like_a_calendar() -> None:
    assert model_month_end(dt.datetime(2024, 1, 31), 1) == dt.datetime(2024, 2, 29)
    assert model_month_end(dt.datetime(2024, 2, 29), 12) == dt.datetime(2025, 2, 28)
    assert model_month_end(dt.datetime(2024, 12, 31), 1) == dt.datetime(2025, 1, 31)
    assert model_month_end(dt.datetime(2024, 11, 30), 1) == dt.datetime(2024, 12, 30)
