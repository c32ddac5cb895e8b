"""``Sandbox``: a world you advance in time, break on purpose, restart, and check."""

from __future__ import annotations

import datetime as dt
import pickle

import attrs
import pytest

from reseller_plans import (
    AliasTaken,
    FailureCode,
    InvalidInput,
    NotEligible,
    NotFound,
    PermanentBackendError,
    Plan,
    SubscriptionStatus,
    Timing,
)
from reseller_plans.domain.events import (
    Activated,
    Cancelled,
    PlanChanged,
    Renewed,
)
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.subscription import Channel, SyncStatus
from reseller_plans.testing import InvariantViolation, Sandbox, SimulatedCrash
from reseller_plans.testing.sandbox import DEFAULT_START

ACTIVATION_OPERATIONS = [
    "bss.get_account",
    "bss.get_distributor",
    "storefront.is_alias_free",
    "bss.place_plan_order",
    "bss.provision_license",
    "storefront.hold_alias",
    "storefront.activate_storefront",
    "mailer.send",
]


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(seed=1)


def names(events: list[object]) -> list[str]:
    return [type(e).__name__ for e in events]


# ---------------------------------------------------------------------- builders


def test_builders_make_an_eligible_world_with_readable_ids(sandbox: Sandbox) -> None:
    distributor = sandbox.distributor()
    reseller = sandbox.reseller(distributor)

    assert (distributor.id, reseller.id, str(reseller.alias)) == ("100", "3542", "reseller1")
    assert sandbox.plans.check(
        reseller.id, Plan.STANDARD, actor=sandbox.as_distributor(distributor)
    )
    report = sandbox.plans.check(
        reseller.id, Plan.STANDARD, actor=sandbox.as_reseller(reseller), alias="reseller1"
    )
    assert report.eligible, report


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"addon_inactive": True}, FailureCode.ADDON_INACTIVE),
        ({"product_missing": Plan.STANDARD}, FailureCode.PLAN_PRODUCT_MISSING),
    ],
)
def test_distributor_overrides_make_it_ineligible(
    sandbox: Sandbox, overrides: dict[str, object], code: FailureCode
) -> None:
    reseller = sandbox.reseller(sandbox.distributor(**overrides))  # type: ignore[arg-type]

    with pytest.raises(NotEligible) as caught:
        sandbox.upgrade(reseller, Plan.STANDARD)

    assert code in caught.value.report.codes
    assert sandbox.plan_of(reseller) is Plan.BASIC


def test_reseller_with_reselling_disabled_is_not_eligible(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller(reselling_disabled=True)

    with pytest.raises(NotEligible) as caught:
        sandbox.upgrade(reseller, Plan.FREE)

    assert FailureCode.RESELLING_DISABLED in caught.value.report.codes


def test_reseller_built_on_a_plan_is_on_it_everywhere(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller(plan=Plan.STANDARD, via="storefront")

    sub = sandbox.subscription(reseller)
    assert sub is not None
    assert (sub.plan, sub.status, sub.channel) == (
        Plan.STANDARD,
        SubscriptionStatus.ACTIVE,
        Channel.STOREFRONT,
    )
    assert sandbox.bss.licenses[reseller.id] is Plan.STANDARD
    assert sandbox.storefront.storefronts[reseller.id].alias == "reseller1"
    sandbox.check_invariants()


def test_the_fake_platform_places_one_order_per_idempotency_key(sandbox: Sandbox) -> None:
    account = sandbox.reseller()
    order_args = {"account_id": account.id, "product_id": "ResellerPlanFree", "alias": None}

    order = sandbox.bss.place_plan_order(
        **order_args, billing_cycle="monthly", idempotency_key="k-1"
    )
    again = sandbox.bss.place_plan_order(
        **order_args, billing_cycle="monthly", idempotency_key="k-1"
    )
    purchase = sandbox.storefront.purchase_plan(
        **order_args, billing_cycle="monthly", idempotency_key="k-2"
    )

    assert again == order != purchase
    assert sandbox.bss.orders == {"k-1": order, "storefront:k-2": purchase}
    assert sandbox.storefront.purchases == {"k-2": purchase}
    assert sandbox.bss.subscriptions == {
        order.platform_subscription_id: "active",
        purchase.platform_subscription_id: "active",
    }
    assert "k-1" in repr(sandbox.bss.orders)


@pytest.mark.parametrize("via", ["bss", "storefront"])
def test_both_channels_end_to_end(sandbox: Sandbox, via: str) -> None:
    reseller = sandbox.reseller(alias="techsolutions")

    sub = sandbox.upgrade(reseller, Plan.STANDARD, via=via)  # type: ignore[arg-type]
    sandbox.plans.change_plan(sub.id, Plan.FREE, actor=sandbox.as_reseller(reseller))
    sandbox.advance(months=1)
    sandbox.plans.cancel(sub.id, actor=sandbox.as_distributor(reseller))

    assert sub.channel is Channel(via)
    orders = sandbox.bss.orders if via == "bss" else sandbox.storefront.purchases
    assert len(orders) == 1
    welcome = sandbox.emails.to(reseller.email).of_kind(MessageKind.WELCOME)
    assert len(welcome) == 1
    assert "https://cloud.disti.example/techsolutions" in welcome[0].text
    assert sandbox.emails.to(reseller.email).kinds == [
        MessageKind.WELCOME,
        MessageKind.PLAN_CHANGE_SCHEDULED,
        MessageKind.PLAN_CHANGED,
        MessageKind.CANCELLED,
    ]
    assert sandbox.plan_of(reseller) is Plan.BASIC
    assert reseller.id not in sandbox.bss.licenses
    assert reseller.id not in sandbox.storefront.storefronts
    sandbox.check_invariants()


def test_emails_filter_and_slice_into_emails(sandbox: Sandbox) -> None:
    first = sandbox.reseller(plan=Plan.FREE)
    second = sandbox.reseller(plan=Plan.STANDARD)

    later = sandbox.emails[1:]

    assert later.to(second.email).kinds == [MessageKind.WELCOME]
    assert sandbox.emails[0].to == (first.email,)
    assert len(sandbox.emails.of_kind("welcome")) == 2
    assert sandbox.emails.to("nobody@example.invalid") == []


def test_the_harness_own_lookups_do_not_use_up_scripted_faults(sandbox: Sandbox) -> None:
    sandbox.reseller()
    sandbox.faults.fail("bss.get_account", permanent=True)

    with pytest.raises(PermanentBackendError):
        sandbox.upgrade("3542", Plan.FREE)  # the service's own read meets the fault

    assert sandbox.faults.injected["permanent"] == 1
    with pytest.raises(NotFound):
        sandbox.upgrade("3945", Plan.FREE)


def test_alias_collision_is_refused(sandbox: Sandbox) -> None:
    first = sandbox.reseller(alias="techsolutions", plan=Plan.STANDARD)
    second = sandbox.reseller(alias="techsolutions")

    with pytest.raises(AliasTaken):
        sandbox.upgrade(second, Plan.STANDARD)

    assert sandbox.storefront.aliases["techsolutions"] == first.id
    sandbox.check_invariants()


# ---------------------------------------------------------------------- time


def test_advance_applies_an_end_of_term_downgrade_and_renews_in_one_call(
    sandbox: Sandbox,
) -> None:
    reseller = sandbox.reseller(plan=Plan.STANDARD)
    sub = sandbox.subscription(reseller)
    assert sub is not None
    first_end = sub.term.end
    sandbox.plans.change_plan(sub.id, Plan.FREE, actor=sandbox.as_reseller(reseller))

    report = sandbox.advance(days=45)  # past the first term end, into the second term

    assert sandbox.now() == DEFAULT_START + dt.timedelta(days=45)
    assert sandbox.plan_of(reseller) is Plan.FREE
    history = sandbox.history(reseller)
    changed = next(e for e in history if isinstance(e, PlanChanged))
    renewed = [e for e in history if isinstance(e, Renewed)]
    assert changed.at == first_end  # applied at the instant the term ended, not at "now"
    assert [e.at for e in renewed] == [first_end]
    assert history.index(changed) < history.index(renewed[0])  # the change first, then renewal
    assert report.renewals == 1
    assert sandbox.bss.licenses[reseller.id] is Plan.FREE
    sandbox.check_invariants()


def test_advance_over_two_months_renews_each_term_at_its_own_end(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller(plan=Plan.FREE)

    sandbox.advance(months=2)

    renewed = [e for e in sandbox.history(reseller) if isinstance(e, Renewed)]
    assert [e.at for e in renewed] == [
        dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC),
    ]
    sub = sandbox.subscription(reseller)
    assert sub is not None
    assert sub.term.end == dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


def test_due_work_of_several_subscriptions_runs_in_time_order(sandbox: Sandbox) -> None:
    early = sandbox.reseller(plan=Plan.FREE)  # term ends Feb 1
    sandbox.advance(days=10)
    late = sandbox.reseller(plan=Plan.FREE)  # term ends Feb 11

    sandbox.advance_to(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC))

    renewals = [
        (e.subscription_id, e.at.date().isoformat())
        for e in sandbox.events
        if isinstance(e, Renewed)
    ]
    assert renewals == [
        ("sub_1", "2026-02-01"),
        ("sub_2", "2026-02-11"),
        ("sub_1", "2026-03-01"),
    ]
    assert early.id != late.id


def test_scheduled_cancellation_and_alias_release_happen_in_one_advance(
    sandbox: Sandbox,
) -> None:
    reseller = sandbox.reseller(plan=Plan.STANDARD)
    sub = sandbox.subscription(reseller)
    assert sub is not None
    sandbox.plans.cancel(sub.id, actor=sandbox.as_reseller(reseller), timing=Timing.END_OF_TERM)

    report = sandbox.advance(months=3)  # term end, then the 30-day alias hold, then beyond

    cancelled = next(e for e in sandbox.history(reseller) if isinstance(e, Cancelled))
    assert cancelled.at == sub.term.end
    assert sandbox.plan_of(reseller) is Plan.BASIC
    assert report.aliases_released == 1
    assert "reseller1" not in sandbox.storefront.aliases
    assert sandbox.store.alias_holds() == []
    sandbox.check_invariants()


def test_advance_returns_only_when_nothing_due_remains(sandbox: Sandbox) -> None:
    for plan in (Plan.FREE, Plan.STANDARD, Plan.FREE):
        sandbox.reseller(plan=plan)

    sandbox.advance(days=100)

    assert sandbox.store.next_due_after(sandbox.now() - dt.timedelta(days=100)) > sandbox.now()
    again = sandbox.plans.run_due()
    assert (again.subscriptions, again.renewals, again.aliases_released) == (0, 0, 0)


def test_events_of_several_subscriptions_come_in_the_order_they_happened(
    sandbox: Sandbox,
) -> None:
    first = sandbox.reseller(plan=Plan.FREE)
    second = sandbox.reseller(plan=Plan.FREE)
    first_sub = sandbox.subscription(first)
    assert first_sub is not None
    sandbox.plans.cancel(first_sub.id, actor=sandbox.as_reseller(first))

    activated = [e.subscription_id for e in sandbox.events if isinstance(e, Activated)]
    last = sandbox.events[-1]

    assert activated == ["sub_1", "sub_2"]
    assert (type(last).__name__, last.subscription_id) == ("RevertedToBasic", "sub_1")
    assert second.id != first.id


def test_builder_overrides_reach_the_messages(sandbox: Sandbox) -> None:
    distributor = sandbox.distributor(
        "D-7", name="Cloud Disti", storefront_host="shop.cloud.example", staff_email="ops@x.example"
    )
    reseller = sandbox.reseller(distributor, name="TechSolutions", email="it@tech.example")
    sandbox.faults.fail("storefront.activate_storefront", permanent=True)
    sandbox.upgrade(reseller, Plan.STANDARD)
    sandbox.upgrade(reseller, Plan.STANDARD)

    welcome = sandbox.emails.to("it@tech.example").of_kind(MessageKind.WELCOME)
    assert "https://shop.cloud.example/reseller1" in welcome[0].text
    assert sandbox.emails.to("ops@x.example").kinds == [MessageKind.PROVISIONING_FAILED]


def test_time_only_moves_forward(sandbox: Sandbox) -> None:
    with pytest.raises(InvalidInput):
        sandbox.advance_to(dt.datetime(2027, 1, 1))
    with pytest.raises(InvalidInput):
        sandbox.advance_to(DEFAULT_START - dt.timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        sandbox.advance(days=-1)


# ---------------------------------------------------------------------- faults


def test_transient_faults_within_the_budget_are_retried(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller()
    sandbox.faults.fail("bss.provision_license", times=2)

    sub = sandbox.upgrade(reseller, Plan.STANDARD)

    assert sub.status is SubscriptionStatus.ACTIVE
    assert sandbox.faults.calls["bss.provision_license"] == 3
    assert sandbox.faults.injected["transient"] == 2
    sandbox.check_invariants()


def test_transient_faults_beyond_the_budget_wait_for_retry(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller()
    sandbox.faults.fail("storefront.activate_storefront", times=3)

    sub = sandbox.upgrade(reseller, Plan.STANDARD)
    assert sub.provisioning_failed
    sandbox.check_invariants()  # awaiting retry is a reported state, not a violation
    sub = sandbox.plans.retry(sub.id, actor=sandbox.as_distributor(reseller))

    assert sub.status is SubscriptionStatus.ACTIVE
    sandbox.check_invariants()


def test_permanent_fault_rolls_the_activation_back(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller()
    sandbox.faults.fail("storefront.activate_storefront", permanent=True)

    sub = sandbox.upgrade(reseller, Plan.STANDARD)

    assert sub.status is SubscriptionStatus.FAILED
    assert sandbox.plan_of(reseller) is Plan.BASIC
    assert reseller.id not in sandbox.bss.licenses
    assert sandbox.emails.of_kind(MessageKind.PROVISIONING_FAILED).to("staff@disti.example")
    assert not sandbox.emails.of_kind(MessageKind.WELCOME)
    sandbox.check_invariants()


def test_fault_on_a_given_call_hits_only_that_call(sandbox: Sandbox) -> None:
    resellers = [sandbox.reseller() for _ in range(3)]
    sandbox.faults.fail("bss.place_plan_order", on_call=2, permanent=True)

    statuses = [sandbox.upgrade(r, Plan.FREE).status for r in resellers]

    assert statuses == [
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.FAILED,
        SubscriptionStatus.ACTIVE,
    ]
    sandbox.check_invariants()


def test_latency_moves_the_sandbox_clock(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller()
    sandbox.faults.slow("bss.place_plan_order", dt.timedelta(seconds=30))

    sandbox.upgrade(reseller, Plan.FREE)

    assert sandbox.now() == DEFAULT_START + dt.timedelta(seconds=30)
    activated = next(e for e in sandbox.events if isinstance(e, Activated))
    assert activated.at == DEFAULT_START + dt.timedelta(seconds=30)


def test_a_crash_escapes_every_handler_and_leaves_the_saga_in_progress(
    sandbox: Sandbox,
) -> None:
    reseller = sandbox.reseller()
    sandbox.faults.crash("storefront.activate_storefront")

    with pytest.raises(SimulatedCrash):
        sandbox.upgrade(reseller, Plan.STANDARD)

    with pytest.raises(InvariantViolation, match="stuck in progress"):
        sandbox.check_invariants()


@pytest.mark.parametrize("operation", ACTIVATION_OPERATIONS)
def test_crash_at_any_step_of_an_upgrade_then_restart_and_advance_converges(
    sandbox: Sandbox, operation: str
) -> None:
    reseller = sandbox.reseller()
    sandbox.faults.crash(operation)

    try:
        sandbox.upgrade(reseller, Plan.STANDARD)
    except SimulatedCrash:
        old = sandbox.plans
        assert sandbox.restart() is not old
    sandbox.advance(minutes=1)

    assert sandbox.faults.injected["crash"] == 1
    sandbox.check_invariants()
    if operation in ("bss.get_account", "bss.get_distributor", "storefront.is_alias_free"):
        assert sandbox.plan_of(reseller) is Plan.BASIC  # crashed before anything was written
    else:
        assert sandbox.plan_of(reseller) is Plan.STANDARD
        assert len(sandbox.emails.of_kind(MessageKind.WELCOME)) == 1


@pytest.mark.parametrize(
    "operation",
    ["storefront.deactivate_storefront", "bss.revoke_license", "bss.cancel_subscription"],
)
def test_crash_during_due_work_is_resumed_after_restart(sandbox: Sandbox, operation: str) -> None:
    reseller = sandbox.reseller(plan=Plan.STANDARD)
    sub = sandbox.subscription(reseller)
    assert sub is not None
    sandbox.plans.cancel(sub.id, actor=sandbox.as_distributor(reseller), timing=Timing.END_OF_TERM)
    sandbox.faults.crash(operation)

    with pytest.raises(SimulatedCrash):
        sandbox.advance(months=1)
    sandbox.restart()
    sandbox.advance(days=1)

    assert sandbox.plan_of(reseller) is Plan.BASIC
    assert sandbox.restarts == 1
    sandbox.check_invariants()


def test_restart_keeps_making_new_ids(sandbox: Sandbox) -> None:
    first = sandbox.reseller(plan=Plan.FREE)
    sandbox.restart()
    second = sandbox.reseller(plan=Plan.FREE)

    ids = [sandbox.subscription(r).id for r in (first, second)]  # type: ignore[union-attr]
    assert ids == ["sub_1", "sub_2"]


# ---------------------------------------------------------------------- invariants


def test_check_invariants_lists_every_violation_readably(sandbox: Sandbox) -> None:
    standard = sandbox.reseller(plan=Plan.STANDARD)
    basic = sandbox.reseller()
    del sandbox.bss.licenses[standard.id]  # the platform lost a license
    sandbox.storefront.storefronts[standard.id].online = False
    sandbox.bss.licenses[basic.id] = Plan.FREE  # a Basic reseller that is licensed

    with pytest.raises(InvariantViolation) as caught:
        sandbox.check_invariants()

    violation = caught.value
    assert isinstance(violation, AssertionError)
    assert len(violation.violations) == 3
    text = str(violation)
    assert text.startswith("3 invariant violations:")
    assert "sub_1 of 3542 (active, Standard) has no license" in text
    assert "sub_1 of 3542 (active, Standard) has its storefront offline" in text
    assert "account 3543 is on Basic but holds a Free license" in text
    copy = pickle.loads(pickle.dumps(violation))  # noqa: S301 - our own bytes
    assert copy.violations == violation.violations


def test_invariants_catch_a_storefront_and_alias_holds_out_of_line(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller(plan=Plan.STANDARD)
    basic = sandbox.reseller()
    state = sandbox.storefront.storefronts[reseller.id]
    state.alias, state.plan = "elsewhere", Plan.FREE
    sandbox.storefront.aliases["reseller1"] = "3550"
    with sandbox.store.unit_of_work() as uow:
        uow.delete_alias_hold("reseller1")
    sandbox.storefront.storefronts[basic.id] = attrs.evolve(state)

    found = "\n".join(sandbox.violations())

    assert "has a storefront for Free under 'elsewhere', not 'reseller1'" in found
    assert "the Storefront gives alias 'reseller1' to 3550" in found
    assert "the store holds alias 'reseller1' for None" in found
    assert "account 3543 is on Basic but has a storefront under 'elsewhere'" in found


def test_invariants_catch_an_activation_without_a_welcome(sandbox: Sandbox) -> None:
    sub = sandbox.upgrade(sandbox.reseller(), Plan.FREE)
    other = sandbox.reseller()
    copied = attrs.evolve(sub, id="sub_copy", account_id=other.id)
    with sandbox.store.unit_of_work() as uow:
        uow.add(copied, ())

    found = sandbox.violations([other.id])

    assert "sub_copy of 3543 was activated without a welcome email" in found


def test_invariants_catch_a_duplicate_email_and_a_foreign_alias(sandbox: Sandbox) -> None:
    owner = sandbox.reseller(plan=Plan.STANDARD)
    sandbox.mailer.send(sandbox.emails[0])  # the same outbox message a second time
    sandbox.storefront.aliases[str(owner.alias)] = "3640"

    found = sandbox.violations()

    assert any("was sent 2 times" in v for v in found)
    assert any("held by 3542 in the store and by 3640 in the Storefront" in v for v in found)


def test_invariants_of_some_accounts_only_look_at_those(sandbox: Sandbox) -> None:
    touched = sandbox.reseller(plan=Plan.FREE)
    other = sandbox.reseller(plan=Plan.FREE)
    del sandbox.bss.licenses[other.id]

    assert sandbox.violations([touched.id]) == []
    assert len(sandbox.violations([other.id])) == 1


def test_a_welcome_refused_for_good_is_a_violation(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller()
    sandbox.faults.fail("mailer.send", permanent=True)

    sandbox.upgrade(reseller, Plan.FREE)

    assert [v for v in sandbox.violations() if "welcome email never reached" in v]


def test_a_welcome_waiting_for_a_retry_is_sent_by_the_next_advance(sandbox: Sandbox) -> None:
    reseller = sandbox.reseller()
    sandbox.faults.fail("mailer.send")

    sandbox.upgrade(reseller, Plan.FREE)
    assert not sandbox.emails
    sandbox.check_invariants()
    sandbox.advance(minutes=5)

    assert sandbox.emails.of_kind("welcome").to(reseller.email)
    sandbox.check_invariants()


# ---------------------------------------------------------------------- reproducibility


def _script(sandbox: Sandbox) -> list[str]:
    for _ in range(5):
        plan = sandbox.random.choice([Plan.FREE, Plan.STANDARD])
        sandbox.reseller(plan=plan, via=sandbox.random.choice(["bss", "storefront"]))
    sandbox.advance(months=2)
    return [repr(e) for e in sandbox.events]  # with the plans and channels chosen


def test_the_same_seed_gives_the_same_world() -> None:
    assert _script(Sandbox(seed=5)) == _script(Sandbox(seed=5))


def test_another_seed_gives_another_world() -> None:
    assert _script(Sandbox(seed=5)) != _script(Sandbox(seed=6))


def test_repr_says_where_the_world_is(sandbox: Sandbox) -> None:
    assert repr(sandbox).startswith("Sandbox(seed=1, now=2026-01-01T09:00:00+00:00, accounts=0")


def test_operations_are_left_in_progress_only_by_a_crash(sandbox: Sandbox) -> None:
    sandbox.reseller(plan=Plan.STANDARD)
    subs = sandbox.store.subscriptions()
    assert all(s.operation is None or s.operation.sync is not SyncStatus.IN_PROGRESS for s in subs)
