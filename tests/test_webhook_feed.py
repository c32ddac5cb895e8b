"""The feed delivered over real HTTP by ``run_due``: signed so that our ``verify()`` and the
``standardwebhooks`` package both accept it, at least once and in order per subscription,
retried with the same ids, dead-lettered after its budget and redriven by an operator."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator

import pytest
from standardwebhooks import Webhook

from reseller_plans import Actor, Plan
from reseller_plans.domain.errors import Forbidden, InvalidInput, NotFound
from reseller_plans.ports import Store
from reseller_plans.service import ResellerPlans
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.packed_store import PackedStore
from reseller_plans.webhooks import (
    DeadReason,
    DeliveryRecord,
    DeliverySettings,
    DeliveryState,
    Endpoint,
    Ordering,
    VerificationFailure,
    WebhookNotifier,
    WebhookSecret,
    WebhookVerificationError,
    verify,
)
from service_world import World, make_world
from store_kinds import store_fixture
from webhook_world import LoopbackReceiver, Received, receiving, webhook_world

QUICK = DeliverySettings(
    backoff=(dt.timedelta(seconds=5), dt.timedelta(seconds=30)), jitter=0, max_attempts=3
)


make_store = store_fixture("memory", "sqlite", "postgres")


@pytest.fixture
def hook(make_store: Callable[[], Store]) -> Iterator[Callable[..., tuple[World, WebhookNotifier]]]:
    """Builds webhook worlds over the test's store; closes their stores and notifiers."""
    made: list[tuple[World, WebhookNotifier]] = []

    def build(
        endpoints: list[Endpoint], settings: DeliverySettings | None = None
    ) -> tuple[World, WebhookNotifier]:
        made.append(webhook_world(endpoints, make_store=make_store, settings=settings))
        return made[-1]

    yield build
    for world, notifier in made:
        notifier.close()
        world.store.close()


@pytest.fixture
def receiver() -> Iterator[tuple[LoopbackReceiver, Endpoint, WebhookSecret]]:
    yield from receiving()


def _ids(received: list[Received]) -> list[str]:
    return [r.webhook_id for r in received]


def _feed_ids(world: World, sub_id: str) -> list[str]:
    return [
        e.id for e in world.plans.events(limit=1000).events if e.event.subscription_id == sub_id
    ]


def _settle(world: World, *, step: dt.timedelta = dt.timedelta(minutes=1), runs: int = 20) -> None:
    for _ in range(runs):
        world.plans.run_due()
        world.clock.advance(step)


def test_every_event_arrives_once_in_order_signed_for_ours_and_standardwebhooks(
    hook: Callable[..., tuple[World, WebhookNotifier]],
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    server, endpoint, secret = receiver
    world, _ = hook([endpoint])
    world.clock.set(dt.datetime.now(dt.UTC))  # standardwebhooks checks against real time
    first = world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    second = world.plans.upgrade("3543", Plan.FREE, alias="second", actor=world.disti)
    world.plans.cancel(first.id, actor=world.disti, reason="asked by phone")

    report = world.plans.run_due()

    got = server.delivered()
    feed = [e.id for e in world.plans.events(limit=1000).events]
    assert sorted(_ids(got)) == sorted(feed)  # every event, once
    assert report.webhooks_delivered == len(feed)
    assert (report.webhooks_retrying, report.webhooks_dead, report.webhook_dead_letters) == (
        0,
        0,
        0,
    )
    for sub in (first, second):
        mine = [
            r.webhook_id for r in got if json.loads(r.body)["data"]["subscription_id"] == sub.id
        ]
        assert mine == _feed_ids(world, sub.id)  # in order per subscription
    standard = Webhook(secret.reveal())
    for request in got:
        ours = verify(request.body, request.headers, secret, now=world.clock)
        theirs = standard.verify(request.body, request.headers)
        assert ours == theirs
        assert ours["id"] == request.webhook_id
    cancelled = [
        json.loads(r.body) for r in got if json.loads(r.body)["type"] == "subscription.cancelled"
    ]
    assert cancelled[0]["data"]["audit"]["actor"] == "distributor:D-100"
    assert cancelled[0]["data"]["audit"]["reason"] == "asked by phone"
    assert world.plans.run_due().webhooks_delivered == 0  # nothing twice


def test_a_receiver_that_fails_three_times_gets_every_event_once_in_order_same_ids(
    hook: Callable[..., tuple[World, WebhookNotifier]],
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    server, endpoint, secret = receiver
    world, _ = hook([endpoint], DeliverySettings(jitter=0))
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    server.script = [503, 500, 502]

    report = world.plans.run_due()
    assert report.webhooks_retrying == 1
    assert report.webhooks_delivered == 0
    _settle(world)

    feed = _feed_ids(world, sub.id)
    assert _ids(server.delivered()) == feed  # once each, in order
    attempts = server.received
    assert [r.status for r in attempts[:4]] == [503, 500, 502, 204]
    assert {r.webhook_id for r in attempts[:4]} == {feed[0]}  # the same id on every attempt
    assert len({r.body for r in attempts[:4]}) == 1  # and the same bytes
    assert len({r.headers["webhook-timestamp"] for r in attempts[:4]}) == 4  # signed anew
    for request in attempts:
        signed = int(request.headers["webhook-timestamp"])
        verify(request.body, request.headers, secret, now=dt.datetime.fromtimestamp(signed, dt.UTC))
    first = next(d for d in world.plans.webhook_deliveries() if d.event_id == feed[0])
    assert (first.state, first.attempts, first.last_result.status) == (
        DeliveryState.DELIVERED,
        4,
        204,
    )


def test_a_tampered_body_or_a_stale_timestamp_is_refused(
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    server, endpoint, secret = receiver
    world, _ = webhook_world([endpoint])
    world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    world.plans.run_due()
    request = server.delivered()[0]

    with pytest.raises(WebhookVerificationError) as tampered:
        verify(request.body.replace(b"3542", b"9999"), request.headers, secret, now=world.clock)
    assert tampered.value.reason is VerificationFailure.BAD_SIGNATURE
    later = world.clock.now() + dt.timedelta(minutes=6)
    with pytest.raises(WebhookVerificationError) as stale:
        verify(request.body, request.headers, secret, now=later)
    assert stale.value.reason is VerificationFailure.STALE_TIMESTAMP
    with pytest.raises(WebhookVerificationError):
        verify(request.body, request.headers, WebhookSecret.generate(), now=world.clock)


def test_a_receiver_down_past_the_budget_is_a_dead_letter_that_holds_back_then_is_redriven(
    hook: Callable[..., tuple[World, WebhookNotifier]],
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    server, endpoint, _ = receiver
    world, _ = hook([endpoint], QUICK)
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    other = world.plans.upgrade("3543", Plan.FREE, alias="second", actor=world.disti)
    feed = _feed_ids(world, sub.id)
    # Down for the first event of `sub` only: the other subscription does not wait for it.
    server.down_for = {feed[0]}
    reports = []
    for _ in range(5):
        reports.append(world.plans.run_due())
        world.clock.advance(dt.timedelta(minutes=1))

    assert sum(r.webhooks_dead for r in reports) == 1
    assert reports[-1].webhook_dead_letters == 1
    dead = list(world.plans.webhook_deliveries(state="dead"))
    assert [(d.event_id, d.dead_reason, d.attempts) for d in dead] == [
        (feed[0], DeadReason.ATTEMPTS, 3)
    ]
    delivered = _ids(server.delivered())
    assert not set(feed) & set(delivered)  # held back behind its dead letter
    assert delivered == _feed_ids(world, other.id)

    with pytest.raises(Forbidden):
        world.plans.redrive_webhook("crm", feed[0], actor=Actor.distributor("D-200"))
    with pytest.raises(NotFound):
        world.plans.redrive_webhook("crm", "evt_999999", actor=world.disti)
    server.down_for = set()
    redriven = world.plans.redrive_webhook("crm", feed[0], actor=world.disti)
    assert (redriven.state, redriven.redriven_by, redriven.attempts) == (
        DeliveryState.PENDING,
        "distributor:D-100",
        0,
    )
    with pytest.raises(InvalidInput, match="only a dead or skipped delivery"):
        world.plans.redrive_webhook("crm", feed[0], actor=world.disti)

    report = world.plans.run_due()
    assert report.webhooks_delivered == len(feed)
    assert report.webhook_dead_letters == 0
    assert _ids(server.delivered())[-len(feed) :] == feed  # in order, the dead letter first


def test_skip_ahead_lets_the_later_events_go_and_skip_gives_a_dead_letter_up(
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    server, endpoint, _ = receiver
    settings = DeliverySettings(jitter=0, max_attempts=1, ordering=Ordering.SKIP_AHEAD)
    world, _ = webhook_world([endpoint], settings=settings)
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    feed = _feed_ids(world, sub.id)
    server.script = [410]  # gone: a dead letter at once

    report = world.plans.run_due()

    assert report.webhooks_dead == 1
    assert _ids(server.delivered()) == feed[1:]
    skipped = world.plans.skip_webhook("crm", feed[0], actor=world.disti)
    assert (skipped.state, skipped.skipped_by) == (DeliveryState.SKIPPED, "distributor:D-100")
    assert world.plans.run_due().webhook_dead_letters == 0
    assert next(world.plans.webhook_deliveries(state=DeliveryState.DEAD), None) is None


def test_each_endpoint_gets_the_types_it_wants_signed_with_its_own_secret(
    hook: Callable[..., tuple[World, WebhookNotifier]],
) -> None:
    crm, ledger = LoopbackReceiver(), LoopbackReceiver()
    try:
        crm_secret, ledger_secret = WebhookSecret.generate(), WebhookSecret.generate()
        endpoints = [
            Endpoint("crm", crm.url, crm_secret, event_types={"subscription.activated"}),
            Endpoint("ledger", ledger.url, ledger_secret),
        ]
        world, _ = hook(endpoints)
        world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)

        world.plans.run_due()

        assert [json.loads(r.body)["type"] for r in crm.delivered()] == ["subscription.activated"]
        assert len(ledger.delivered()) == len(world.plans.events().events)
        for request in crm.delivered():
            verify(request.body, request.headers, crm_secret, now=world.clock)
            with pytest.raises(WebhookVerificationError):
                verify(request.body, request.headers, ledger_secret, now=world.clock)
        assert {d.endpoint_id for d in world.plans.webhook_deliveries()} == {"crm", "ledger"}
        assert [d.endpoint_id for d in world.plans.webhook_deliveries(endpoint_id="crm")] == ["crm"]
    finally:
        crm.close()
        ledger.close()


def test_an_endpoint_added_later_gets_the_whole_feed_from_its_start(
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    _server, endpoint, _ = receiver
    world = make_world()
    world.reseller("3542")
    world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    plans = ResellerPlans(bss=world.bss, storefront=world.storefront, mailer=world.mailer,
                          store=world.store, clock=world.clock,
                          webhooks=WebhookNotifier([endpoint]))  # fmt: skip

    assert plans.run_due().webhooks_delivered == len(plans.events().events) > 0


def test_webhooks_over_a_store_that_keeps_no_deliveries_or_no_feed_are_refused(
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    _, endpoint, _ = receiver
    world = make_world()
    for store, says in (
        (PackedStore(), "keeps no webhook deliveries"),
        (InMemoryStore(keep_event_log=False), "keeps no event log"),
    ):
        with pytest.raises(InvalidInput, match=says):
            ResellerPlans(bss=world.bss, storefront=world.storefront, mailer=world.mailer,
                          store=store, webhooks=WebhookNotifier([endpoint]))  # fmt: skip
    with pytest.raises(InvalidInput, match="must be a WebhookNotifier"):
        ResellerPlans(bss=world.bss, storefront=world.storefront, mailer=world.mailer,
                      store=InMemoryStore(), webhooks=[endpoint])  # type: ignore[arg-type]  # fmt: skip


def test_an_operator_without_a_notifier_redrives_what_another_process_delivers(
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    server, endpoint, _ = receiver
    world, _ = webhook_world([endpoint], settings=DeliverySettings(max_attempts=1))
    world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    server.script = [500]
    world.plans.run_due()
    operator = ResellerPlans(bss=world.bss, storefront=world.storefront, mailer=world.mailer,
                             store=world.store, clock=world.clock)  # fmt: skip
    dead = next(operator.webhook_deliveries(state="dead"))

    operator.redrive_webhook("crm", dead.event_id, actor=world.disti)

    assert operator.run_due().webhooks_delivered == 0  # it has no notifier: it sends nothing
    assert world.plans.run_due().webhooks_delivered == len(world.plans.events().events)
    packed = ResellerPlans(bss=world.bss, storefront=world.storefront, mailer=world.mailer,
                           store=PackedStore())  # fmt: skip
    with pytest.raises(InvalidInput, match="keeps no webhook deliveries"):
        list(packed.webhook_deliveries())


def test_bad_input_to_the_webhook_methods_is_refused(
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    _, endpoint, _ = receiver
    world, _ = webhook_world([endpoint])
    with pytest.raises(InvalidInput):
        world.plans.webhook_deliveries(state="lost")
    with pytest.raises(InvalidInput):
        world.plans.webhook_deliveries(page_size=0)
    with pytest.raises(InvalidInput):
        world.plans.skip_webhook("", "evt_1", actor=world.disti)
    with pytest.raises(InvalidInput, match="two endpoints have the id"):
        WebhookNotifier([endpoint, endpoint])
    with pytest.raises(InvalidInput, match="at least one endpoint"):
        WebhookNotifier([])
    with pytest.raises(InvalidInput, match="claim_for"):
        WebhookNotifier([endpoint], claim_for=dt.timedelta(0))


def test_a_reseller_may_not_redrive_and_paging_reads_every_delivery(
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    server, endpoint, _ = receiver
    world, _ = webhook_world([endpoint], settings=DeliverySettings(max_attempts=1))
    world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    world.plans.upgrade("3543", Plan.STANDARD, alias="second", actor=world.disti)
    server.script = [500]
    world.plans.run_due()
    dead = next(world.plans.webhook_deliveries(state="dead"))

    with pytest.raises(Forbidden):
        world.plans.redrive_webhook("crm", dead.event_id, actor=Actor.reseller("3542"))
    everything = list(world.plans.webhook_deliveries())
    assert list(world.plans.webhook_deliveries(page_size=2)) == everything
    assert [d.sequence for d in everything] == sorted(d.sequence for d in everything)
    mine = list(world.plans.webhook_deliveries(subscription_id=dead.subscription_id))
    assert {d.subscription_id for d in mine} == {dead.subscription_id}


def test_dead_letters_hold_back_only_their_own_subscriptions_however_many(
    hook: Callable[..., tuple[World, WebhookNotifier]],
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    server, endpoint, _ = receiver
    world, _ = hook([endpoint], DeliverySettings(max_attempts=1))
    for n in range(4):
        world.reseller(f"50{n}")
        world.plans.upgrade(f"50{n}", Plan.FREE, alias=f"dead{n}", actor=world.disti)
    server.script = [500] * 4  # each subscription's first event dies: four dead letters
    world.plans.run_due()
    assert world.plans.run_due().webhook_dead_letters == 4
    assert server.delivered() == []

    later = world.plans.upgrade("3542", Plan.STANDARD, alias="alive", actor=world.disti)
    report = world.plans.run_due()

    assert _ids(server.delivered()) == _feed_ids(world, later.id)  # not held back by the others
    assert report.webhook_dead_letters == 4


def test_a_failing_endpoint_is_paused_for_the_rest_of_a_pass_its_budgets_untouched(
    receiver: tuple[LoopbackReceiver, Endpoint, WebhookSecret],
) -> None:
    server, endpoint, _ = receiver
    world, notifier = webhook_world([endpoint])
    for n in range(7):
        world.reseller(f"60{n}")
        world.plans.upgrade(f"60{n}", Plan.FREE, alias=f"paused{n}", actor=world.disti)
    server.script = [500] * 100

    report = world.plans.run_due()

    assert (notifier.pause_after, report.webhooks_retrying, len(server.received)) == (5, 5, 5)
    heads: dict[str, DeliveryRecord] = {}
    for delivery in world.plans.webhook_deliveries(state="pending"):
        heads.setdefault(delivery.subscription_id, delivery)  # each one's first, in feed order
    assert sorted(d.attempts for d in heads.values()) == [0, 0, 1, 1, 1, 1, 1]
    with pytest.raises(InvalidInput, match="pause_after"):
        WebhookNotifier([endpoint], pause_after=0)
    unpaused, _ = webhook_world([endpoint], settings=None)
    unpaused.plans = ResellerPlans(
        bss=unpaused.bss, storefront=unpaused.storefront, mailer=unpaused.mailer,
        store=world.store, clock=world.clock,
        webhooks=WebhookNotifier([endpoint], pause_after=None),
    )  # fmt: skip
    world.clock.advance(dt.timedelta(minutes=1))
    assert unpaused.plans.run_due().webhooks_retrying == 7  # every head, none paused
