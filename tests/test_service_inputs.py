"""A caller's mistakes get a clear ``InvalidInput`` and change nothing (issue 16 item 5), and
ids or texts no store can hold are refused at the service's inputs (issue 15 item 7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from reseller_plans import Actor, BillingCycle, InvalidInput, Plan, SubscriptionStatus
from reseller_plans.service import ResellerPlans
from reseller_plans.stores.memory import InMemoryStore
from service_world import World, make_world


@pytest.fixture
def world() -> World:
    w = make_world()
    w.reseller("3542")
    return w


def active(world: World, plan: Plan = Plan.STANDARD) -> str:
    sub = world.plans.upgrade("3542", plan, alias="techsolutions", actor=world.disti)
    assert sub.status is SubscriptionStatus.ACTIVE
    return sub.id


def snapshot(world: World) -> tuple[object, ...]:
    """Everything a command could have changed."""
    with world.store.unit_of_work() as uow:
        live = uow.live_subscription_of("3542")
        history = [] if live is None else uow.history(live.id)
        outbox = [] if live is None else uow.outbox_of(live.id)
    return live, len(history), len(outbox), len(world.mailer.sent), len(world.bss.orders)


def test_an_actor_given_as_a_string_is_refused_and_changes_nothing(world: World) -> None:
    before = snapshot(world)
    with pytest.raises(InvalidInput, match=r"actor must be an Actor .*not str 'D-100'"):
        world.plans.upgrade("3542", Plan.FREE, alias="techsolutions", actor="D-100")  # type: ignore[arg-type]
    sid = active(world)
    after_upgrade = snapshot(world)
    calls: list[Callable[[], object]] = [
        lambda: world.plans.check("3542", Plan.FREE, actor="D-100"),  # type: ignore[arg-type]
        lambda: world.plans.cancel(sid, actor="D-100"),  # type: ignore[arg-type]
        lambda: world.plans.suspend(sid, actor="D-100"),  # type: ignore[arg-type]
        lambda: world.plans.change_plan(sid, "free", actor="D-100"),  # type: ignore[arg-type]
        lambda: world.plans.find_by_key("k", actor="D-100"),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(InvalidInput, match="actor must be an Actor"):
            call()
    assert before[0] is None
    assert snapshot(world) == after_upgrade


def test_change_plan_with_timing_as_text_means_that_timing(world: World) -> None:
    sid = active(world)
    sub = world.plans.change_plan(sid, "free", actor=world.disti, timing="immediate")
    assert sub.plan is Plan.FREE
    assert sub.pending_change is None


def test_timing_text_is_read_case_insensitively_and_end_of_term_schedules(world: World) -> None:
    sid = active(world)
    sub = world.plans.change_plan(sid, Plan.FREE, actor=world.disti, timing="END_OF_TERM")
    assert sub.plan is Plan.STANDARD
    assert sub.pending_change is not None


@pytest.mark.parametrize("timing", ["now", "immediately", 1, True])
def test_an_unknown_timing_is_refused_naming_the_values_and_changes_nothing(
    world: World, timing: object
) -> None:
    sid = active(world)
    before = snapshot(world)
    with pytest.raises(InvalidInput, match="timing must be a Timing or one of 'immediate'"):
        world.plans.change_plan(sid, Plan.FREE, actor=world.disti, timing=timing)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="timing must be a Timing"):
        world.plans.cancel(sid, actor=world.disti, timing=timing)  # type: ignore[arg-type]
    assert snapshot(world) == before


def test_a_billing_cycle_as_text_is_read_and_an_unknown_one_refused(world: World) -> None:
    with pytest.raises(InvalidInput, match="billing_cycle must be a BillingCycle or one of"):
        world.plans.upgrade(
            "3542", Plan.FREE, alias="techsolutions", actor=world.disti, billing_cycle="yearly"
        )
    assert snapshot(world)[0] is None
    sub = world.plans.upgrade(
        "3542", Plan.FREE, alias="techsolutions", actor=world.disti, billing_cycle="Annual"
    )
    assert sub.term.cycle is BillingCycle.ANNUAL


@pytest.mark.parametrize(
    ("now", "message"),
    [
        (dt.datetime(2026, 3, 1, 9, 0), "now must be timezone-aware, not the naive"),
        (dt.date(2026, 3, 1), "now must be a timezone-aware datetime, not date"),
        ("2026-03-01T09:00:00Z", "now must be a timezone-aware datetime, not str"),
    ],
)
def test_run_due_refuses_a_naive_datetime_or_a_date(
    world: World, now: object, message: str
) -> None:
    active(world)
    before = snapshot(world)
    with pytest.raises(InvalidInput, match=message):
        world.plans.run_due(now=now)  # type: ignore[arg-type]
    assert snapshot(world) == before


class NaiveClock:
    def now(self) -> dt.datetime:
        return dt.datetime(2026, 1, 15, 9, 0)


def test_a_clock_returning_naive_datetimes_is_refused_at_its_first_read(world: World) -> None:
    plans = ResellerPlans(
        bss=world.bss,
        storefront=world.storefront,
        mailer=world.mailer,
        store=InMemoryStore(),
        clock=NaiveClock(),
    )
    with pytest.raises(InvalidInput, match="a Clock must return timezone-aware datetimes"):
        plans.upgrade("3542", Plan.FREE, alias="techsolutions", actor=world.disti)
    with pytest.raises(InvalidInput, match="a Clock must return timezone-aware datetimes"):
        plans.run_due()
    assert plans.subscription_of("3542") is None
    assert not world.bss.orders


@pytest.mark.parametrize("bad_id", [3542, None, b"3542", ["3542"], ""])
def test_an_id_that_is_not_text_is_refused(world: World, bad_id: object) -> None:
    with pytest.raises(InvalidInput, match="account_id must"):
        world.plans.upgrade(bad_id, Plan.FREE, alias="techsolutions", actor=world.disti)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="subscription_id must"):
        world.plans.get(bad_id)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="subscription_id must"):
        world.plans.cancel(bad_id, actor=world.disti)  # type: ignore[arg-type]
    assert snapshot(world)[0] is None


@pytest.mark.parametrize(
    ("text", "reason"), [("35\x0042", "a NUL character"), ("35\ud80042", "a lone surrogate")]
)
def test_ids_and_texts_a_store_cannot_hold_are_refused_at_the_inputs(
    world: World, text: str, reason: str
) -> None:
    sid = active(world)
    before = snapshot(world)
    refusals: list[tuple[Callable[[], object], str]] = [
        (lambda: world.plans.get(text), "subscription_id"),
        (lambda: world.plans.plan_of(text), "account_id"),
        (lambda: world.plans.check(text, Plan.FREE, actor=world.disti), "account_id"),
        (
            lambda: world.plans.cancel(sid, actor=world.disti, idempotency_key=text),
            "idempotency_key",
        ),
        (lambda: world.plans.suspend(sid, actor=world.disti, reason=text), "reason"),
        (lambda: world.plans.cancel(sid, actor=Actor.distributor(text)), "the actor's id"),
        (
            lambda: world.plans.upgrade(
                "3542", Plan.FREE, alias="x", actor=world.disti, platform_subscription_id=text
            ),
            "platform_subscription_id",
        ),
    ]
    for call, what in refusals:
        with pytest.raises(InvalidInput, match=f"{what} holds {reason}"):
            call()
    assert snapshot(world) == before


def test_valid_unicode_in_a_reason_is_kept_unchanged(world: World) -> None:
    sid = active(world)
    reason = "non-payment \U0001f600 \u05d0\u05d1 e\u0301"
    sub = world.plans.suspend(sid, actor=world.disti, reason=reason)
    assert sub.status is SubscriptionStatus.SUSPENDED
    assert any(reason in repr(event) for event in world.plans.history(sid))


def test_a_flag_given_as_text_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput, match="auto_renew must be True or False, not 'false'"):
        world.plans.upgrade(
            "3542",
            Plan.FREE,
            alias="techsolutions",
            actor=world.disti,
            auto_renew="false",  # type: ignore[arg-type]
        )
    assert snapshot(world)[0] is None
