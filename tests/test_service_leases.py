"""One owner at a time, within one process: leases, fencing, busy subscriptions, isolation of
due work and outbox claims, through ``ResellerPlans`` over the in-memory ports.

(The same over several real processes on SQLite and PostgreSQL is in the multi-process tests.)
"""

from __future__ import annotations

import datetime as dt

import pytest

from reseller_plans import LeaseSettings, Plan, ResellerPlans, SubscriptionBusy, Timing
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.subscription import SubscriptionStatus
from reseller_plans.service_manager.codes import ResultCode
from reseller_plans.testing.faults import SimulatedCrash
from service_manager_world import World as PlatformWorld
from service_manager_world import create_body, envelope, fixture
from service_world import World, make_world

LEASES = LeaseSettings(
    lease=dt.timedelta(minutes=5),
    step_deadline=dt.timedelta(minutes=1),
    margin=dt.timedelta(seconds=10),
    busy_timeout=dt.timedelta(milliseconds=50),
)


@pytest.fixture
def world() -> World:
    world = make_world()
    world.plans = _plans(world)
    world.reseller("3542")
    world.reseller("3543")
    return world


def _plans(world: World) -> ResellerPlans:
    return ResellerPlans(
        bss=world.bss,
        storefront=world.storefront,
        mailer=world.mailer,
        store=world.store,
        clock=world.clock,
        new_id=lambda: f"sub_{next(world.ids)}",
        leases=LEASES,
    )


def _hold(world: World, subscription_id: str, owner: str = "another-process") -> None:
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        assert uow.take_lease(subscription_id, owner, now=now, until=now + LEASES.lease)


def test_a_lease_shorter_than_a_step_and_its_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        LeaseSettings(lease=dt.timedelta(seconds=60), step_deadline=dt.timedelta(seconds=60))


def test_a_command_on_a_subscription_another_driver_holds_waits_then_is_busy(
    world: World,
) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="shop-a")
    _hold(world, sub.id)
    before = world.plans.get(sub.id)

    with pytest.raises(SubscriptionBusy) as raised:
        world.plans.suspend(sub.id, actor=world.disti, reason="non-payment")

    assert raised.value.subscription_id == sub.id
    assert world.plans.get(sub.id) == before  # nothing changed
    assert world.storefront.storefronts["3542"].online


def test_a_command_takes_over_once_the_other_drivers_lease_has_ended(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="shop-a")
    _hold(world, sub.id)
    world.clock.advance(LEASES.lease)

    suspended = world.plans.suspend(sub.id, actor=world.disti)

    assert suspended.status is SubscriptionStatus.SUSPENDED


def test_an_outcome_recorded_after_the_lease_changed_hands_is_refused(world: World) -> None:
    # While the storefront call runs, the lease runs out and another driver takes it over.
    real = world.storefront.activate_storefront

    def slow_activation(
        account_id: str, alias: StorefrontAlias, plan: Plan, *, idempotency_key: str | None = None
    ) -> str:
        world.clock.advance(LEASES.lease + dt.timedelta(seconds=1))
        sid = next(iter(world.store.subscriptions())).id  # type: ignore[attr-defined]
        _hold(world, sid, owner="the-new-owner")
        return real(account_id, alias, plan, idempotency_key=idempotency_key)

    world.storefront.activate_storefront = slow_activation  # type: ignore[method-assign]

    late = world.plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")

    stored = world.plans.get(late.id)
    assert stored.status is SubscriptionStatus.PENDING  # its outcome was not recorded
    assert stored.operation is not None
    assert stored.operation.steps[stored.operation.done].value == "activate_storefront"
    assert world.mailer.sent == []  # and it went no further


def test_run_due_skips_a_subscription_another_driver_holds_and_reports_it_busy(
    world: World,
) -> None:
    sub = world.plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")
    end = sub.term.end
    _hold(world, sub.id)

    report = world.plans.run_due(end)

    assert report.busy == 1
    assert report.renewals == 0
    assert world.plans.get(sub.id).term.end == end


def test_one_subscription_whose_due_work_raises_is_backed_off_and_the_rest_goes_on(
    world: World,
) -> None:
    first = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="shop-a")
    second = world.plans.upgrade("3543", Plan.STANDARD, actor=world.disti, alias="shop-b")
    world.plans.cancel(first.id, actor=world.disti, timing=Timing.END_OF_TERM)
    world.plans.cancel(second.id, actor=world.disti, timing=Timing.END_OF_TERM)
    real = world.storefront.deactivate_storefront

    def broken(account_id: str, *, idempotency_key: str | None = None) -> None:
        if account_id == "3542":
            raise KeyError("an adapter's own bug")
        real(account_id, idempotency_key=idempotency_key)

    world.storefront.deactivate_storefront = broken  # type: ignore[method-assign]
    end = first.term.end
    world.clock.set(end)

    report = world.plans.run_due(end)

    assert [f.subscription_id for f in report.failures] == [first.id]
    assert "KeyError" in report.failures[0].error
    assert world.plans.get(second.id).status is SubscriptionStatus.CANCELLED
    # backed off: the next run leaves it alone until its retry time, then tries again
    assert world.plans.run_due(end).failures == ()
    world.storefront.deactivate_storefront = real  # type: ignore[method-assign]
    retry_at = report.failures[0].retry_at
    world.clock.set(retry_at)
    world.plans.run_due(retry_at)
    assert world.plans.get(first.id).status is SubscriptionStatus.CANCELLED


def test_a_message_another_sender_has_claimed_is_not_sent_again(world: World) -> None:
    world.faults.fail("mailer.send", times=None)  # the welcome waits in the outbox
    sub = world.plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")
    world.faults.clear()
    (waiting,) = [e for e in world.plans.outbox(sub.id) if e.sent_at is None]
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        assert uow.claim_outbox(waiting.id, "another-sender", now=now, until=now + LEASES.lease)

    report = world.plans.run_due()

    assert report.emails_sent == 0
    assert world.mailer.sent == []
    world.clock.advance(LEASES.outbox_claim + LEASES.lease)  # the other sender died
    assert world.plans.run_due().emails_sent == 1
    assert [m.message_id for m in world.mailer.sent] == [waiting.id]


def test_a_command_that_crashed_in_a_call_gave_its_lease_back_and_run_due_resumes_at_once(
    world: World,
) -> None:
    # The command dies in its first call, after its commit took the lease.
    world.faults.crash("bss.place_plan_order")
    with pytest.raises(SimulatedCrash):
        world.plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")
    world.faults.clear()
    plans = _plans(world)  # a new process

    report = plans.run_due()

    # the crashed call's stack unwound: its lease was given back, and the work resumes at once
    assert report.busy == 0
    live = plans.subscription_of("3542")
    assert live is not None
    assert live.status is SubscriptionStatus.ACTIVE
    assert world.check_invariants() == []


def test_the_service_manager_answers_a_busy_subscription_with_1015_and_changes_nothing() -> None:
    world = PlatformWorld(leases=LEASES)
    envelope(world.handle("Subscriptions/Create", create_body()))
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        assert uow.take_lease("sub_0001", "a-worker", now=now, until=now + LEASES.lease)
    before = world.snapshot()
    body = fixture("sm_subscriptions_cancel")
    body["ID"] = "sub_0001"

    answer = envelope(world.handle("Subscriptions/Suspend", body))

    assert answer["Code"] == ResultCode.SUBSCRIPTION_BUSY
    assert "retry shortly" in answer["Message"]
    assert world.snapshot() == before
