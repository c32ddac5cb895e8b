"""The sans-IO provisioning saga: the steps it names, how outcomes fold in, compensations."""

from __future__ import annotations

import pytest

from lifecycle_builders import (
    T0,
    ctx,
    event_names,
    make_operation,
    make_subscription,
    pending_change,
    run_saga,
)
from reseller_plans.domain import lifecycle, saga
from reseller_plans.domain.errors import IllegalTransition
from reseller_plans.domain.events import (
    Activated,
    ActivationFailed,
    Cancelled,
    Expired,
    LicenseProvisioned,
    LicenseRevoked,
    ProvisioningFailed,
    ProvisioningRetried,
    RevertedToBasic,
    StorefrontActivated,
    StorefrontDeactivated,
    Suspended,
    WelcomeEmailQueued,
)
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import (
    Channel,
    OperationKind,
    PendingKind,
    StepAction,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    add_months,
)

A = StepAction
K = OperationKind
S = SubscriptionStatus
Trigger = lifecycle.Trigger
Outcome = saga.Outcome
SID, ACCOUNT = "SUB-1", "3542"
TERM_END = add_months(T0, 1)


def _actions(steps: list[saga.SagaStep]) -> list[StepAction]:
    return [s.action for s in steps]


def _started(kind: OperationKind, **start: object) -> Subscription:
    """A subscription in the state the operation starts from, with the operation started."""
    source = {
        K.ACTIVATION: S.PENDING,
        K.PLAN_CHANGE: S.ACTIVE,
        K.SUSPENSION: S.ACTIVE,
        K.RESUMPTION: S.SUSPENDED,
        K.CANCELLATION: S.ACTIVE,
    }[kind]
    sub = make_subscription(source, Plan.STANDARD, platform_subscription_id="PLT-9")
    if kind is K.PLAN_CHANGE:
        start.setdefault("plan", Plan.FREE)
    return saga.start(sub, kind, **start)  # type: ignore[arg-type]


def _step_to(sub: Subscription, index: int) -> Subscription:
    """Mark the first ``index`` steps done."""
    for _ in range(index):
        step = saga.next_step(sub)
        assert step is not None
        sub = saga.record(sub, step, Outcome.done(), ctx()).subscription
    return sub


# --- activation ------------------------------------------------------------------------------


def test_activation_runs_order_license_alias_storefront_welcome_email_and_ends_active() -> None:
    sub = saga.start(make_subscription(S.PENDING, Plan.STANDARD), K.ACTIVATION)
    assert sub.version == 2
    assert sub.sync_status is SyncStatus.IN_PROGRESS

    sub, steps, events = run_saga(sub, [Outcome.done(platform_subscription_id="PLT-77")])

    assert _actions(steps) == [
        A.PLACE_ORDER,
        A.PROVISION_LICENSE,
        A.HOLD_ALIAS,
        A.ACTIVATE_STOREFRONT,
        A.QUEUE_EMAIL,
    ]
    assert all(s.plan is Plan.STANDARD and not s.compensation for s in steps)
    assert [s.message for s in steps] == [None, None, None, None, MessageKind.WELCOME]
    assert sub.status is S.ACTIVE
    assert sub.operation is None
    assert sub.sync_status is SyncStatus.SYNCHRONIZED
    assert sub.effective_plan is Plan.STANDARD
    assert sub.platform_subscription_id == "PLT-77"
    assert events == [
        LicenseProvisioned(SID, T0, Plan.STANDARD),
        StorefrontActivated(SID, T0, Plan.STANDARD, "techsolutions"),
        WelcomeEmailQueued(SID, T0, Plan.STANDARD),
        Activated(SID, T0, Plan.STANDARD),
    ]
    assert sub.version == 2 + len(steps) + 1  # one per step, one for the transition


def test_each_done_step_is_reported_synchronized_and_the_next_in_progress() -> None:
    sub = _step_to(_started(K.ACTIVATION), 2)
    assert list(sub.provisioning().items()) == [
        (A.PLACE_ORDER, SyncStatus.SYNCHRONIZED),
        (A.PROVISION_LICENSE, SyncStatus.SYNCHRONIZED),
        (A.HOLD_ALIAS, SyncStatus.IN_PROGRESS),
        (A.ACTIVATE_STOREFRONT, SyncStatus.NOT_STARTED),
        (A.QUEUE_EMAIL, SyncStatus.NOT_STARTED),
    ]


def test_activation_of_a_subscription_without_an_alias_still_names_the_storefront() -> None:
    sub = saga.start(make_subscription(S.PENDING, Plan.FREE, alias=None), K.ACTIVATION)
    _, _, events = run_saga(sub)
    assert StorefrontActivated(SID, T0, Plan.FREE, "") in events


def test_an_activation_the_platform_asked_for_does_not_place_an_order() -> None:
    sub = make_subscription(S.PENDING, channel=Channel.PLATFORM)
    sub, steps, _ = run_saga(saga.start(sub, K.ACTIVATION))
    assert _actions(steps) == [
        A.PROVISION_LICENSE,
        A.HOLD_ALIAS,
        A.ACTIVATE_STOREFRONT,
        A.QUEUE_EMAIL,
    ]
    assert sub.status is S.ACTIVE


def test_a_platform_initiated_activation_of_a_bss_subscription_does_not_place_an_order() -> None:
    sub = make_subscription(S.PENDING, channel=Channel.BSS)
    started = saga.start(sub, K.ACTIVATION, platform_initiated=True)
    assert started.operation is not None
    assert started.operation.steps == (
        A.PROVISION_LICENSE,
        A.HOLD_ALIAS,
        A.ACTIVATE_STOREFRONT,
        A.QUEUE_EMAIL,
    )


def test_an_activation_compensates_back_to_basic() -> None:
    op = _started(K.ACTIVATION).operation
    assert op is not None
    assert (op.plan, op.previous_plan) == (Plan.STANDARD, Plan.BASIC)


# --- permanent failure at each step of each compensable operation --------------------------

# The steps that undo each done step, in the order they run (a step absent here is never
# undone: the emails, which always go last).
_UNDO: dict[OperationKind, dict[StepAction, tuple[StepAction, ...]]] = {
    K.ACTIVATION: {
        # The platform's order line carried the alias too: it is given back once the order is
        # cancelled (on top of the release that undoes the hold).
        A.PLACE_ORDER: (A.CANCEL_ON_PLATFORM, A.RELEASE_ALIAS),
        A.PROVISION_LICENSE: (A.REVOKE_LICENSE,),
        A.HOLD_ALIAS: (A.RELEASE_ALIAS,),
        A.ACTIVATE_STOREFRONT: (A.DEACTIVATE_STOREFRONT,),
    },
    # A plan change puts the previous plan's license and storefront back; the alias it held
    # again stays the reseller's.
    K.PLAN_CHANGE: {
        A.PROVISION_LICENSE: (A.PROVISION_LICENSE,),
        A.HOLD_ALIAS: (),
        A.ACTIVATE_STOREFRONT: (A.ACTIVATE_STOREFRONT,),
    },
    K.SUSPENSION: {
        A.SUSPEND_STOREFRONT: (A.RESUME_STOREFRONT,),
        A.SUSPEND_ON_PLATFORM: (A.RESUME_ON_PLATFORM,),
    },
    K.RESUMPTION: {
        A.RESUME_ON_PLATFORM: (A.SUSPEND_ON_PLATFORM,),
        A.RESUME_STOREFRONT: (A.SUSPEND_STOREFRONT,),
    },
}
_STEPS = {
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
_EACH_STEP = [(kind, i) for kind, steps in _STEPS.items() for i in range(len(steps))]
_COMPENSABLE_STEPS = [(kind, i) for kind, i in _EACH_STEP if kind is not K.CANCELLATION]


def _ids(pairs: list[tuple[OperationKind, int]]) -> list[str]:
    return [f"{kind.value}-{_STEPS[kind][i].value}" for kind, i in pairs]


def test_every_operation_has_the_steps_this_suite_expects() -> None:
    assert saga.OPERATION_STEPS == _STEPS
    assert frozenset(_UNDO) == saga.COMPENSABLE
    for kind, undo in _UNDO.items():
        assert set(undo) == set(_STEPS[kind]) - {A.QUEUE_EMAIL}, kind


@pytest.mark.parametrize(("kind", "index"), _COMPENSABLE_STEPS, ids=_ids(_COMPENSABLE_STEPS))
def test_a_permanent_failure_undoes_the_done_steps_in_reverse_and_ends_on_the_previous_plan(
    kind: OperationKind, index: int
) -> None:
    sub = _step_to(_started(kind, detail="non-payment"), index)
    before = sub
    failing = saga.next_step(sub)
    assert failing is not None
    assert failing.action is _STEPS[kind][index]

    sub, steps, events = run_saga(sub, [Outcome.permanent("refused by the backend")])

    done = _STEPS[kind][:index]
    expected_undo = [undo for action in reversed(done) for undo in _UNDO[kind][action]]
    assert _actions(steps) == [failing.action, *expected_undo]
    previous = Plan.BASIC if kind is K.ACTIVATION else Plan.STANDARD
    assert all(s.compensation and s.plan is previous for s in steps[1:])
    reason = f"{failing.action.value}: refused by the backend"
    assert sub.operation is None
    assert sub.failure_reason == reason
    assert sub.plan is Plan.STANDARD, "the plan held before the operation"
    failed = ProvisioningFailed(SID, T0, kind.value, "", reason, awaiting_retry=False)
    if kind is K.ACTIVATION:
        assert sub.status is S.FAILED
        assert sub.effective_plan is Plan.BASIC
        assert events[-2:] == [failed, ActivationFailed(SID, T0, reason)]
    else:
        assert sub.status is before.status
        assert sub.effective_plan is Plan.STANDARD
        assert events[-1] == failed
        assert not any(e.name in {"PlanChanged", "Suspended", "Resumed"} for e in events)


def test_undoing_an_activation_revokes_the_license_and_deactivates_the_storefront() -> None:
    sub = _step_to(_started(K.ACTIVATION), 4)  # fails at the email
    _, steps, events = run_saga(sub, [Outcome.permanent("smtp refused")])
    assert _actions(steps) == [
        A.QUEUE_EMAIL,
        A.DEACTIVATE_STOREFRONT,
        A.RELEASE_ALIAS,
        A.REVOKE_LICENSE,
        A.CANCEL_ON_PLATFORM,
        A.RELEASE_ALIAS,
    ]
    assert event_names(events) == [
        "StorefrontDeactivated",
        "LicenseRevoked",
        "ProvisioningFailed",
        "ActivationFailed",
    ]
    assert events[0] == StorefrontDeactivated(SID, T0)
    assert events[1] == LicenseRevoked(SID, T0)


# --- the Storefront Alias: held by an activation, given back when it is undone -------------

_ALIAS_STEPS = frozenset({A.HOLD_ALIAS, A.RELEASE_ALIAS})


def test_an_activation_holds_the_alias_after_the_license_and_before_the_storefront() -> None:
    sub = _step_to(_started(K.ACTIVATION), 2)
    hold = saga.next_step(sub)
    assert hold == saga.SagaStep(A.HOLD_ALIAS, Plan.STANDARD)
    sub, events = saga.record(sub, hold, Outcome.done(), ctx())
    assert events == (), "holding the alias produces no event"
    assert saga.next_step(sub) == saga.SagaStep(A.ACTIVATE_STOREFRONT, Plan.STANDARD)


def test_an_activation_that_fails_for_good_at_the_storefront_gives_the_alias_back_twice() -> None:
    sub = _step_to(_started(K.ACTIVATION), 3)  # order, license and hold done
    sub, steps, events = run_saga(sub, [Outcome.permanent("storefront refused")])
    assert _actions(steps) == [
        A.ACTIVATE_STOREFRONT,
        A.RELEASE_ALIAS,
        A.REVOKE_LICENSE,
        A.CANCEL_ON_PLATFORM,
        A.RELEASE_ALIAS,
    ]
    assert [(s.compensation, s.plan) for s in steps[1:]] == [(True, Plan.BASIC)] * 4
    reason = "activate_storefront: storefront refused"
    assert events == [
        LicenseRevoked(SID, T0),
        ProvisioningFailed(SID, T0, "activation", "", reason, awaiting_retry=False),
        ActivationFailed(SID, T0, reason),
    ]
    assert (sub.status, sub.operation, sub.failure_reason) == (S.FAILED, None, reason)


def test_an_activation_that_fails_for_good_at_the_hold_cancels_the_order_and_releases() -> None:
    sub = _step_to(_started(K.ACTIVATION), 2)  # order and license done
    sub, steps, events = run_saga(sub, [Outcome.permanent("alias taken")])
    assert _actions(steps) == [
        A.HOLD_ALIAS,
        A.REVOKE_LICENSE,
        A.CANCEL_ON_PLATFORM,
        A.RELEASE_ALIAS,
    ]
    assert all(s.compensation and s.plan is Plan.BASIC for s in steps[1:])
    reason = "hold_alias: alias taken"
    assert events == [
        LicenseRevoked(SID, T0),
        ProvisioningFailed(SID, T0, "activation", "", reason, awaiting_retry=False),
        ActivationFailed(SID, T0, reason),
    ]
    assert sub.status is S.FAILED


def test_releasing_the_alias_while_undoing_produces_no_event() -> None:
    sub = _step_to(_started(K.ACTIVATION), 3)
    storefront = saga.next_step(sub)
    assert storefront is not None
    sub = saga.record(sub, storefront, Outcome.permanent("refused"), ctx()).subscription
    release = saga.next_step(sub)
    assert release == saga.SagaStep(A.RELEASE_ALIAS, Plan.BASIC, compensation=True)
    after, events = saga.record(sub, release, Outcome.done(), ctx())
    assert events == ()
    assert after.version == sub.version + 1
    assert saga.next_step(after) == saga.SagaStep(A.REVOKE_LICENSE, Plan.BASIC, compensation=True)


def test_an_activation_without_a_platform_order_releases_the_alias_only_once() -> None:
    sub = _step_to(
        saga.start(make_subscription(S.PENDING, channel=Channel.PLATFORM), K.ACTIVATION), 2
    )
    _, steps, _ = run_saga(sub, [Outcome.permanent("storefront refused")])
    assert _actions(steps) == [A.ACTIVATE_STOREFRONT, A.RELEASE_ALIAS, A.REVOKE_LICENSE]


_PLAN_CHANGE_RUNS = [
    (source, target, outcomes)
    for source, target in ((Plan.FREE, Plan.STANDARD), (Plan.STANDARD, Plan.FREE))
    for outcomes in (
        [],
        *([Outcome.done()] * index + [Outcome.permanent("refused")] for index in range(3)),
        [Outcome.transient("timeout")],
    )
]


@pytest.mark.parametrize(("source", "target", "outcomes"), _PLAN_CHANGE_RUNS)
def test_a_plan_change_holds_its_alias_again_but_never_gives_it_up(
    source: Plan, target: Plan, outcomes: list[saga.Outcome]
) -> None:
    sub = saga.start(make_subscription(S.ACTIVE, source), K.PLAN_CHANGE, plan=target)
    assert sub.operation is not None
    assert sub.operation.steps == (
        A.PROVISION_LICENSE,
        A.HOLD_ALIAS,
        A.ACTIVATE_STOREFRONT,
        A.QUEUE_EMAIL,
    )
    sub, steps, _ = run_saga(sub, outcomes)
    if sub.operation is not None:  # waiting for a retry: retry it to the end
        sub = lifecycle.apply(sub, Trigger.RETRY, ctx()).subscription
        sub, more, _ = run_saga(sub)
        steps += more
    assert sub.operation is None
    assert steps, "the plan change ran"
    assert A.RELEASE_ALIAS not in _actions(steps)


def test_undoing_a_plan_change_provisions_the_previous_plan_again() -> None:
    sub = _step_to(_started(K.PLAN_CHANGE, plan=Plan.FREE), 3)
    sub, steps, events = run_saga(sub, [Outcome.permanent("smtp refused")])
    assert [(s.action, s.plan) for s in steps[1:]] == [
        (A.ACTIVATE_STOREFRONT, Plan.STANDARD),
        (A.PROVISION_LICENSE, Plan.STANDARD),
    ]
    assert events[:2] == [
        StorefrontActivated(SID, T0, Plan.STANDARD, "techsolutions"),
        LicenseProvisioned(SID, T0, Plan.STANDARD),
    ]
    assert (sub.status, sub.plan) == (S.ACTIVE, Plan.STANDARD)


def test_a_permanent_failure_without_a_reason_is_named_after_its_kind() -> None:
    sub = _started(K.SUSPENSION)
    step = saga.next_step(sub)
    assert step is not None
    outcome = saga.Outcome(saga.OutcomeKind.PERMANENT)
    sub = saga.record(sub, step, outcome, ctx()).subscription
    assert sub.failure_reason == "suspend_storefront: permanent"


@pytest.mark.parametrize("outcome", [Outcome.transient("timeout"), Outcome.permanent("403")])
def test_a_failed_compensation_waits_for_retry_and_then_resumes_undoing(
    outcome: saga.Outcome,
) -> None:
    sub = _step_to(_started(K.ACTIVATION), 3)
    storefront = saga.next_step(sub)
    assert storefront is not None
    assert storefront.action is A.ACTIVATE_STOREFRONT
    sub = saga.record(sub, storefront, Outcome.permanent("refused"), ctx()).subscription
    release = saga.next_step(sub)
    assert release is not None
    assert (release.action, release.compensation) == (A.RELEASE_ALIAS, True)
    sub = saga.record(sub, release, Outcome.done(), ctx()).subscription
    revoke = saga.next_step(sub)
    assert revoke is not None
    assert (revoke.action, revoke.compensation) == (A.REVOKE_LICENSE, True)

    sub, events = saga.record(sub, revoke, outcome, ctx())

    assert saga.next_step(sub) is None
    assert sub.status is S.PENDING
    assert sub.sync_status is SyncStatus.FAILED
    assert events == (
        ProvisioningFailed(SID, T0, "activation", "revoke_license", outcome.reason, True),
    )
    sub = lifecycle.apply(sub, Trigger.RETRY, ctx()).subscription
    assert saga.next_step(sub) == revoke
    sub, steps, _ = run_saga(sub)
    assert _actions(steps) == [A.REVOKE_LICENSE, A.CANCEL_ON_PLATFORM, A.RELEASE_ALIAS]
    assert sub.status is S.FAILED


def test_a_compensation_retried_after_a_failure_keeps_the_original_failure_reason() -> None:
    sub = _step_to(_started(K.ACTIVATION), 3)
    sub, _, _ = run_saga(sub, [Outcome.permanent("storefront refused"), Outcome.transient("x")])
    sub = lifecycle.apply(sub, Trigger.RETRY, ctx()).subscription
    sub, _, events = run_saga(sub)
    assert sub.status is S.FAILED
    assert sub.failure_reason == "activate_storefront: storefront refused"
    assert events[-1] == ActivationFailed(SID, T0, "activate_storefront: storefront refused")


# --- transient failure: wait for a retry, resume at the same step ---------------------------


@pytest.mark.parametrize(("kind", "index"), _EACH_STEP, ids=_ids(_EACH_STEP))
def test_a_transient_failure_waits_for_retry_and_resumes_at_the_same_step(
    kind: OperationKind, index: int
) -> None:
    sub = _step_to(_started(kind), index)
    step = saga.next_step(sub)
    assert step is not None

    waiting, events = saga.record(sub, step, Outcome.transient("502 from the storefront"), ctx())

    assert saga.next_step(waiting) is None
    assert waiting.sync_status is SyncStatus.FAILED
    assert waiting.provisioning_failed
    assert waiting.provisioning()[step.action] is SyncStatus.FAILED
    assert waiting.status is sub.status
    assert waiting.version == sub.version + 1
    assert events == (
        ProvisioningFailed(
            SID, T0, kind.value, step.action.value, "502 from the storefront", awaiting_retry=True
        ),
    )
    retried = lifecycle.apply(waiting, Trigger.RETRY, ctx())
    assert retried.events == (ProvisioningRetried(SID, T0, kind.value),)
    assert retried.subscription.sync_status is SyncStatus.IN_PROGRESS
    assert saga.next_step(retried.subscription) == step
    finished, steps, _ = run_saga(retried.subscription)
    assert _actions(steps) == list(_STEPS[kind][index:])
    assert finished.operation is None


def test_a_transient_failure_without_a_reason_is_named_after_its_kind() -> None:
    sub = _started(K.ACTIVATION)
    step = saga.next_step(sub)
    assert step is not None
    sub = saga.record(sub, step, saga.Outcome(saga.OutcomeKind.TRANSIENT), ctx()).subscription
    assert sub.operation is not None
    assert sub.operation.reason == "transient"


# --- cancellation: provisioning side first, never compensated ------------------------------


def test_a_cancellation_deactivates_revokes_cancels_on_the_platform_then_emails() -> None:
    sub, steps, events = run_saga(_started(K.CANCELLATION))
    assert _actions(steps) == list(_STEPS[K.CANCELLATION])
    assert steps[-1].message is MessageKind.CANCELLED
    assert sub.status is S.CANCELLED
    assert sub.effective_plan is Plan.BASIC
    assert events[-2:] == [Cancelled(SID, T0), RevertedToBasic(SID, T0, ACCOUNT)]


def test_a_cancellation_without_a_platform_subscription_skips_the_platform() -> None:
    sub = saga.start(make_subscription(S.ACTIVE), K.CANCELLATION)
    assert sub.operation is not None
    assert sub.operation.steps == (A.DEACTIVATE_STOREFRONT, A.REVOKE_LICENSE, A.QUEUE_EMAIL)


def test_a_cancellation_the_platform_asked_for_does_not_call_the_platform_back() -> None:
    sub = _started(K.CANCELLATION, platform_initiated=True)
    assert sub.operation is not None
    assert A.CANCEL_ON_PLATFORM not in sub.operation.steps


@pytest.mark.parametrize("index", range(len(_STEPS[K.CANCELLATION])))
def test_a_permanent_cancellation_failure_is_not_compensated_but_waits_for_retry(
    index: int,
) -> None:
    sub = _step_to(_started(K.CANCELLATION), index)
    step = saga.next_step(sub)
    assert step is not None

    waiting, events = saga.record(sub, step, Outcome.permanent("license server said no"), ctx())

    assert saga.next_step(waiting) is None
    assert waiting.status is S.ACTIVE
    assert waiting.operation is not None
    assert not waiting.operation.compensating
    assert events[0].name == "ProvisioningFailed"
    assert isinstance(events[0], ProvisioningFailed)
    assert events[0].awaiting_retry
    retried = lifecycle.apply(waiting, Trigger.RETRY, ctx()).subscription
    assert saga.next_step(retried) == step
    finished, steps, _ = run_saga(retried)
    assert not any(s.compensation for s in steps)
    assert finished.status is S.CANCELLED


# --- stale outcomes ------------------------------------------------------------------------


def test_an_outcome_of_a_step_already_done_is_ignored() -> None:
    sub = _started(K.ACTIVATION)
    first = saga.next_step(sub)
    assert first is not None
    sub = saga.record(sub, first, Outcome.done(), ctx()).subscription
    for outcome in (Outcome.done(), Outcome.permanent("late"), Outcome.transient("late")):
        assert saga.record(sub, first, outcome, ctx()) == (sub, ())


def test_an_outcome_after_the_operation_finished_is_ignored() -> None:
    sub, steps, _ = run_saga(_started(K.SUSPENSION))
    assert saga.record(sub, steps[-1], Outcome.permanent("late"), ctx()) == (sub, ())


def test_an_outcome_while_waiting_for_retry_is_ignored() -> None:
    sub = _started(K.RESUMPTION)
    step = saga.next_step(sub)
    assert step is not None
    waiting = saga.record(sub, step, Outcome.transient("timeout"), ctx()).subscription
    assert saga.record(waiting, step, Outcome.done(), ctx()) == (waiting, ())


def test_an_outcome_of_a_replaced_operation_is_ignored() -> None:
    sub = _step_to(_started(K.ACTIVATION), 1)
    license_step = saga.next_step(sub)
    assert license_step is not None
    sub = saga.record(sub, license_step, Outcome.transient("timeout"), ctx()).subscription
    sub = saga.start(sub, K.CANCELLATION)
    assert saga.record(sub, license_step, Outcome.done(), ctx()) == (sub, ())


# --- messages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        (Plan.FREE, Plan.STANDARD, MessageKind.PLAN_UPGRADED),
        (Plan.STANDARD, Plan.FREE, MessageKind.PLAN_CHANGED),
    ],
)
def test_a_plan_change_emails_upgraded_from_free_to_standard_and_changed_otherwise(
    source: Plan, target: Plan, message: MessageKind
) -> None:
    sub = saga.start(make_subscription(S.ACTIVE, source), K.PLAN_CHANGE, plan=target)
    sub, steps, events = run_saga(sub)
    assert steps[-1].message is message
    assert sub.plan is target
    assert event_names(events) == ["LicenseProvisioned", "StorefrontActivated", "PlanChanged"]


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (K.ACTIVATION, MessageKind.WELCOME),
        (K.SUSPENSION, MessageKind.SUSPENDED),
        (K.RESUMPTION, MessageKind.RESUMED),
        (K.CANCELLATION, MessageKind.CANCELLED),
    ],
)
def test_each_operation_ends_with_its_own_email(kind: OperationKind, message: MessageKind) -> None:
    sub = _started(kind)
    assert sub.operation is not None
    assert saga.message_for(sub.operation) is message
    _, steps, _ = run_saga(sub)
    assert (steps[-1].action, steps[-1].message) == (A.QUEUE_EMAIL, message)


def test_a_suspension_carries_its_reason_to_the_suspended_event() -> None:
    sub, steps, events = run_saga(_started(K.SUSPENSION, detail="non-payment"))
    assert _actions(steps) == list(_STEPS[K.SUSPENSION])
    assert sub.status is S.SUSPENDED
    assert events[-1] == Suspended(SID, T0, "non-payment")


def test_a_resumption_ends_active() -> None:
    sub, steps, events = run_saga(_started(K.RESUMPTION))
    assert _actions(steps) == list(_STEPS[K.RESUMPTION])
    assert sub.status is S.ACTIVE
    assert event_names(events) == ["Resumed"]


def test_a_platform_initiated_suspension_only_touches_the_storefront_and_emails() -> None:
    sub = _started(K.SUSPENSION, platform_initiated=True)
    assert sub.operation is not None
    assert sub.operation.steps == (A.SUSPEND_STOREFRONT, A.QUEUE_EMAIL)


# --- expiry --------------------------------------------------------------------------------


def test_an_expiry_cancels_and_records_expired_cancelled_and_reverted_to_basic() -> None:
    sub = make_subscription(S.ACTIVE, auto_renew=False, platform_subscription_id="PLT-9")
    lifecycle.check(sub, Trigger.EXPIRE, ctx(TERM_END))
    sub = saga.start(sub, K.CANCELLATION, detail=saga.EXPIRY)

    sub, steps, events = run_saga(sub, at=TERM_END)

    assert _actions(steps) == list(_STEPS[K.CANCELLATION])
    assert sub.status is S.CANCELLED
    assert events[-3:] == [
        Expired(SID, TERM_END),
        Cancelled(SID, TERM_END),
        RevertedToBasic(SID, TERM_END, ACCOUNT),
    ]


# --- starting operations -------------------------------------------------------------------


def test_cancelling_a_pending_subscription_whose_activation_awaits_retry_is_allowed() -> None:
    sub = _step_to(_started(K.ACTIVATION), 1)
    step = saga.next_step(sub)
    assert step is not None
    sub = saga.record(sub, step, Outcome.transient("timeout"), ctx()).subscription

    lifecycle.check(sub, Trigger.CANCEL, ctx())
    sub = saga.start(sub, K.CANCELLATION)
    assert sub.operation is not None
    assert sub.operation.kind is K.CANCELLATION
    sub, steps, events = run_saga(sub)

    assert A.CANCEL_ON_PLATFORM in _actions(steps)
    assert sub.status is S.CANCELLED
    assert events[-2:] == [Cancelled(SID, T0), RevertedToBasic(SID, T0, ACCOUNT)]


def test_cancelling_a_pending_subscription_while_its_activation_runs_is_refused() -> None:
    sub = _step_to(_started(K.ACTIVATION), 1)
    assert not lifecycle.can(sub, Trigger.CANCEL, ctx())
    with pytest.raises(IllegalTransition, match="the activation is still in progress"):
        lifecycle.check(sub, Trigger.CANCEL, ctx())


@pytest.mark.parametrize("kind", [K.PLAN_CHANGE, K.CANCELLATION])
def test_starting_a_plan_change_or_cancellation_clears_the_scheduled_change(
    kind: OperationKind,
) -> None:
    sub = make_subscription(S.ACTIVE, pending_change=pending_change(PendingKind.CANCELLATION))
    assert saga.start(sub, kind, plan=Plan.FREE).pending_change is None


@pytest.mark.parametrize("kind", [K.SUSPENSION, K.RESUMPTION])
def test_suspension_and_resumption_keep_the_scheduled_change(kind: OperationKind) -> None:
    change = pending_change(PendingKind.CANCELLATION)
    sub = make_subscription(S.ACTIVE, pending_change=change)
    assert saga.start(sub, kind).pending_change == change


def test_starting_an_operation_replaces_a_failed_one_and_advances_the_version() -> None:
    sub = make_subscription(S.ACTIVE, operation=make_operation(sync=SyncStatus.FAILED), version=7)
    started = saga.start(sub, K.CANCELLATION)
    assert started.operation is not None
    assert (started.operation.kind, started.operation.sync) == (
        K.CANCELLATION,
        SyncStatus.IN_PROGRESS,
    )
    assert started.version == 8


def test_an_operation_started_without_a_plan_targets_the_current_plan() -> None:
    sub = saga.start(make_subscription(S.ACTIVE, Plan.FREE), K.SUSPENSION)
    assert sub.operation is not None
    assert (sub.operation.plan, sub.operation.previous_plan) == (Plan.FREE, Plan.FREE)


def test_next_step_is_none_without_an_operation() -> None:
    assert saga.next_step(make_subscription(S.ACTIVE)) is None


def test_the_operation_keeps_the_free_text_detail() -> None:
    sub = _started(K.SUSPENSION, detail="fraud review")
    assert sub.operation is not None
    assert sub.operation.detail == "fraud review"
