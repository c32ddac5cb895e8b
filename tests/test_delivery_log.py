"""The ``DeliveryLog`` port, the same in every store that keeps webhook deliveries: cursors moved
by compare-and-set, deliveries ingested once, claims with one owner at a time and a fencing
generation, operators' changes that a claim refuses, the operator's pages and counts, bodies kept
byte for byte, and nothing left by a unit of work that raised (two processes racing over the
SQL stores: ``test_delivery_log_processes``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import attrs
import pytest

from reseller_plans.delivery_log import DeliveryLog, FeedCursor, StoredDelivery
from reseller_plans.domain.deliveries import (
    AttemptOutcome,
    AttemptResult,
    DeadReason,
    DeliveryRecord,
    DeliverySettings,
    DeliveryState,
    record_attempt,
    redrive,
    skip,
)
from reseller_plans.ports import Store
from store_kinds import store_fixture

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
SETTINGS = DeliverySettings(jitter=0)

PENDING, DELIVERED, DEAD, SKIPPED = (
    DeliveryState.PENDING, DeliveryState.DELIVERED, DeliveryState.DEAD, DeliveryState.SKIPPED,
)  # fmt: skip


make_store = store_fixture("memory", "sqlite", "postgres")


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Iterator[Store]:
    opened = make_store()
    yield opened
    opened.close()


@contextmanager
def log(store: Store) -> Iterator[DeliveryLog]:
    """One unit of work, as the ``DeliveryLog`` it also is."""
    with store.unit_of_work() as uow:
        yield cast("DeliveryLog", uow)


def delivery(
    event_id: str, sequence: int, *, endpoint: str = "crm", subscription: str = "sub_1",
    body: bytes | None = None, **fields: Any,
) -> StoredDelivery:  # fmt: skip
    """A new delivery (or one in the state ``fields`` say), its body naming its event."""
    record = DeliveryRecord(endpoint, event_id, subscription, sequence, **fields)
    return StoredDelivery(record, body if body is not None else f'{{"id":"{event_id}"}}'.encode())


def ingest(store: Store, *deliveries: StoredDelivery, endpoint: str = "crm") -> FeedCursor:
    """Ingest these deliveries for the endpoint, moving its cursor on by as many; the cursor."""
    with log(store) as uow:
        was = uow.feed_cursor(endpoint)
        now = FeedCursor(f"pos_{was.ingested + len(deliveries)}", was.ingested + len(deliveries))
        assert uow.ingest_deliveries(endpoint, deliveries, was=was, now=now)
    return now


def stored(store: Store, event_id: str, endpoint: str = "crm") -> StoredDelivery:
    with log(store) as uow:
        found = uow.get_delivery(endpoint, event_id)
    assert found is not None
    return found


def claim(store: Store, event_id: str, owner: str, at: dt.datetime) -> StoredDelivery | None:
    with log(store) as uow:
        return uow.claim_delivery("crm", event_id, owner, now=at, until=at + MINUTE)


def failed(at: dt.datetime) -> AttemptResult:
    return AttemptResult(AttemptOutcome.FAILED, at, status=503, error="unavailable", duration=0.5)


# ---------------------------------------------------------------------------- the cursor


def test_a_new_endpoint_is_at_the_start_of_the_feed(store: Store) -> None:
    with log(store) as uow:
        assert uow.feed_cursor("crm") == FeedCursor()


def test_the_cursor_moves_from_was_to_now_and_a_stale_was_writes_nothing(store: Store) -> None:
    first, second = FeedCursor("p1", 1), FeedCursor("p2", 2)
    with log(store) as uow:
        assert uow.ingest_deliveries("crm", [delivery("e1", 1)], was=FeedCursor(), now=first)
    with log(store) as uow:  # another notifier, which read the feed from the start too
        assert not uow.ingest_deliveries("crm", [delivery("e9", 1)], was=FeedCursor(), now=second)
        assert uow.feed_cursor("crm") == first
        assert uow.get_delivery("crm", "e9") is None
    with log(store) as uow:
        assert uow.ingest_deliveries("crm", [delivery("e2", 2)], was=first, now=second)
    with log(store) as uow:  # stale: the same position, or the same count, is not enough
        for was in (first, FeedCursor("p2", 1), FeedCursor("p1", 2), FeedCursor(None, 2)):
            later = FeedCursor("p3", 3)
            assert not uow.ingest_deliveries("crm", [delivery("e3", 3)], was=was, now=later)
        assert uow.feed_cursor("crm") == second
        assert uow.get_delivery("crm", "e3") is None
    assert _page(store) == [("crm", 1, "e1"), ("crm", 2, "e2")]


def test_a_cursor_not_at_the_start_is_refused_for_a_new_endpoint(store: Store) -> None:
    with log(store) as uow:
        assert not uow.ingest_deliveries("crm", [delivery("e1", 1)], was=FeedCursor("p1", 1),
                                         now=FeedCursor("p2", 2))  # fmt: skip
        assert not uow.ingest_deliveries("crm", [], was=FeedCursor(None, 1), now=FeedCursor())
        assert uow.feed_cursor("crm") == FeedCursor()
        assert uow.get_delivery("crm", "e1") is None


def test_each_endpoint_has_its_own_cursor_and_a_move_without_deliveries_counts(
    store: Store,
) -> None:
    skipped = FeedCursor("p4", 4)  # four events read, none for this endpoint
    with log(store) as uow:
        assert uow.ingest_deliveries("crm", [], was=FeedCursor(), now=skipped)
        assert uow.ingest_deliveries("erp", [delivery("e1", 1, endpoint="erp")],
                                     was=FeedCursor(), now=FeedCursor("p1", 1))  # fmt: skip
    with log(store) as uow:
        assert uow.feed_cursor("crm") == skipped
        assert uow.feed_cursor("erp") == FeedCursor("p1", 1)
        assert uow.next_deliveries("crm", now=T0, hold_back=True, limit=10) == []


def test_ingesting_a_delivery_again_keeps_the_one_stored(store: Store) -> None:
    ingest(store, delivery("e1", 1, body=b"first"))
    again = delivery("e1", 1, body=b"second", subscription="sub_2")
    ingest(store, again, delivery("e2", 2))  # the cursor moves; e1 is not replaced
    kept = stored(store, "e1")
    assert kept.body == b"first"
    assert kept.record.subscription_id == "sub_1"
    assert stored(store, "e2").body == b'{"id":"e2"}'


# ---------------------------------------------------------------------------- what may go


def _next(store: Store, at: dt.datetime = T0, *, hold_back: bool = True, limit: int = 10,
          endpoint: str = "crm") -> list[str]:  # fmt: skip
    with log(store) as uow:
        found = uow.next_deliveries(endpoint, now=at, hold_back=hold_back, limit=limit)
    return [s.record.event_id for s in found]


@pytest.fixture
def lines(store: Store) -> Store:
    """An endpoint's deliveries, five subscriptions in every state, ingested out of order."""
    ingest(
        store,
        delivery("e5", 5),  # sub_1: e1 delivered, e2 its next, e5 behind it
        delivery("e2", 2),
        delivery("e1", 1, state=DELIVERED),
        delivery("e6", 6, subscription="sub_2"),  # sub_2: a dead letter e3, then e6
        delivery("e3", 3, subscription="sub_2", state=DEAD, dead_reason=DeadReason.GONE),
        delivery("e4", 4, subscription="sub_3", state=SKIPPED),  # sub_3: e7 not due yet
        delivery("e7", 7, subscription="sub_3", next_attempt_at=T0 + MINUTE),
        delivery("e8", 8, subscription="sub_3"),
        delivery("e9", 9, subscription="sub_4", next_attempt_at=T0),  # due at T0 exactly
        delivery("e10b", 10, subscription="sub_5"),  # one sequence: the event id decides
        delivery("e10a", 10, subscription="sub_5"),
    )
    ingest(store, delivery("x1", 1, endpoint="erp"), endpoint="erp")
    return store


def test_next_deliveries_are_each_subscriptions_first_not_done_when_due(lines: Store) -> None:
    assert _next(lines) == ["e2", "e9", "e10a"]  # e3 holds back e6; e7 is not due
    assert _next(lines, limit=2) == ["e2", "e9"]
    assert _next(lines, T0 + MINUTE) == ["e2", "e7", "e9", "e10a"]
    assert _next(lines, T0 - MINUTE) == ["e2", "e10a"]
    assert _next(lines, endpoint="erp") == ["x1"]
    assert _next(lines, endpoint="nobody") == []
    with log(lines) as uow:
        found = uow.next_deliveries("crm", now=T0, hold_back=True, limit=1)
    assert found == [stored(lines, "e2")]  # whole: its record, its body, its claim


def test_without_hold_back_a_dead_letter_is_passed_over(lines: Store) -> None:
    assert _next(lines, hold_back=False) == ["e2", "e6", "e9", "e10a"]
    assert _next(lines, hold_back=False, limit=2) == ["e2", "e6"]


def test_a_redriven_dead_letter_goes_first_again_in_its_subscription(lines: Store) -> None:
    dead = stored(lines, "e3").record
    with log(lines) as uow:
        assert uow.change_delivery(redrive(dead, by="operator:ana", at=T0), was=DEAD, now=T0)
    assert _next(lines) == ["e2", "e3", "e9", "e10a"]
    assert _next(lines, hold_back=False) == ["e2", "e3", "e9", "e10a"]


# ---------------------------------------------------------------------------- claims


def test_a_claim_has_one_owner_while_it_lasts_and_changes_hands_after(store: Store) -> None:
    ingest(store, delivery("e1", 1))
    first = claim(store, "e1", "a", T0)
    assert first is not None
    assert (first.claimed_by, first.claimed_until, first.generation) == ("a", T0 + MINUTE, 1)
    assert first.record == DeliveryRecord("crm", "e1", "sub_1", 1)
    assert first.body == b'{"id":"e1"}'
    assert stored(store, "e1") == first
    assert claim(store, "e1", "b", T0 + MINUTE / 2) is None
    assert claim(store, "e1", "a", T0 + MINUTE / 2) is None  # its own claim lasts, too
    assert stored(store, "e1") == first
    second = claim(store, "e1", "b", T0 + MINUTE)  # the claim ends at its until
    assert second is not None
    assert (second.claimed_by, second.claimed_until, second.generation) == (
        "b", T0 + 2 * MINUTE, 2,
    )  # fmt: skip


def test_only_a_pending_delivery_can_be_claimed(store: Store) -> None:
    ingest(
        store,
        delivery("e1", 1, state=DELIVERED),
        delivery("e2", 2, state=DEAD, dead_reason=DeadReason.ATTEMPTS),
        delivery("e3", 3, state=SKIPPED),
        delivery("e4", 4, next_attempt_at=T0 + 60 * MINUTE),  # not due: the caller decides
    )
    for event_id in ("e1", "e2", "e3", "missing"):
        assert claim(store, event_id, "a", T0) is None
    assert stored(store, "e2").generation == 0
    assert claim(store, "e4", "a", T0) is not None


def test_an_outcome_is_recorded_under_its_claim_and_ends_it(store: Store) -> None:
    ingest(store, delivery("e1", 1), delivery("e2", 2))
    claimed = claim(store, "e1", "a", T0)
    assert claimed is not None
    retry = record_attempt(claimed.record, failed(T0), SETTINGS, random=lambda: 0.5)
    with log(store) as uow:
        assert uow.finish_delivery(claimed, retry)
    after = stored(store, "e1")
    assert after == attrs.evolve(claimed, record=retry, claimed_by=None, claimed_until=None)
    assert after.record.next_attempt_at == T0 + dt.timedelta(seconds=5)
    with log(store) as uow:  # the claim ended: its outcome cannot be recorded twice
        assert not uow.finish_delivery(claimed, retry)
        assert uow.get_delivery("crm", "e1") == after
    assert _next(store) == []  # e1 waits for its retry, e2 behind it
    assert _next(store, T0 + dt.timedelta(seconds=5)) == ["e1"]
    again = claim(store, "e1", "a", T0 + MINUTE)
    assert again is not None
    assert again.generation == 2
    answered = AttemptResult(AttemptOutcome.DELIVERED, T0 + MINUTE, status=204)
    done = record_attempt(again.record, answered, SETTINGS, random=lambda: 0.5)
    with log(store) as uow:
        assert uow.finish_delivery(again, done)
    with log(store) as uow:
        assert uow.count_deliveries(DELIVERED) == 1
    assert _next(store, T0 + MINUTE) == ["e2"]


def test_an_attempt_whose_claim_was_taken_over_cannot_record_its_outcome(store: Store) -> None:
    ingest(store, delivery("e1", 1))
    old = claim(store, "e1", "a", T0)
    assert old is not None
    new = claim(store, "e1", "b", T0 + 2 * MINUTE)  # a's claim ran out; b took it
    assert new is not None
    assert new.generation == old.generation + 1
    late = record_attempt(old.record, failed(T0), SETTINGS, random=lambda: 0.5)
    with log(store) as uow:
        assert not uow.finish_delivery(old, late)
    assert stored(store, "e1") == new  # b's claim and the record, untouched
    mine = claim(store, "e1", "a", T0 + 4 * MINUTE)  # b's ran out too; a again, generation 3
    assert mine is not None
    with log(store) as uow:  # the same owner under an older generation is refused as well
        assert not uow.finish_delivery(attrs.evolve(mine, generation=2), late)
        assert not uow.finish_delivery(new, late)
        assert uow.finish_delivery(mine, late)
    assert stored(store, "e1").claimed_by is None


# ---------------------------------------------------------------------------- operators


def test_an_operator_changes_a_delivery_in_the_state_they_saw(store: Store) -> None:
    dead = delivery("e1", 1, state=DEAD, dead_reason=DeadReason.GONE, attempts=1)
    ingest(store, dead)
    redriven = redrive(dead.record, by="operator:ana", at=T0)
    with log(store) as uow:
        assert not uow.change_delivery(redriven, was=SKIPPED, now=T0)  # not what it is
        assert uow.change_delivery(redriven, was=DEAD, now=T0)
    after = stored(store, "e1")
    assert (after.record, after.generation, after.claimed_by) == (redriven, 1, None)
    with log(store) as uow:  # a second redrive of the same dead letter: it is pending now
        assert not uow.change_delivery(redriven, was=DEAD, now=T0)
    assert stored(store, "e1").generation == 1


def test_a_claim_refuses_an_operator_until_it_ends_and_then_fences_the_attempt(
    store: Store,
) -> None:
    ingest(store, delivery("e1", 1))
    claimed = claim(store, "e1", "a", T0)
    assert claimed is not None
    skipped = skip(claimed.record, by="operator:ana", at=T0)
    with log(store) as uow:
        assert not uow.change_delivery(skipped, was=PENDING, now=T0 + MINUTE / 2)
    assert stored(store, "e1") == claimed
    with log(store) as uow:
        assert uow.change_delivery(skipped, was=PENDING, now=T0 + MINUTE)
    after = stored(store, "e1")
    assert (after.record, after.claimed_by, after.claimed_until, after.generation) == (
        skipped, None, None, 2,
    )  # fmt: skip
    late = record_attempt(claimed.record, failed(T0), SETTINGS, random=lambda: 0.5)
    with log(store) as uow:  # the attempt in flight cannot write over the operator's change
        assert not uow.finish_delivery(claimed, late)
    assert stored(store, "e1").record == skipped


def test_a_missing_delivery_is_none_and_cannot_be_changed(store: Store) -> None:
    record = DeliveryRecord("crm", "e1", "sub_1", 1)
    with log(store) as uow:
        assert uow.get_delivery("crm", "e1") is None
        assert not uow.change_delivery(skip(record, by="ana", at=T0), was=PENDING, now=T0)
        assert uow.get_delivery("crm", "e1") is None


# ---------------------------------------------------------------------------- queries


def _listing(records: list[DeliveryRecord]) -> list[tuple[str, int, str]]:
    return [(r.endpoint_id, r.sequence, r.event_id) for r in records]


@pytest.fixture
def listed(store: Store) -> Store:
    """Deliveries to two endpoints, of two subscriptions, in every state."""
    ingest(
        store,
        delivery("e3", 3, state=DEAD, dead_reason=DeadReason.AGE),
        delivery("e1", 1, state=DELIVERED),
        delivery("e2b", 2, subscription="sub_2"),
        delivery("e2a", 2),
        delivery("e4", 4, state=SKIPPED, subscription="sub_2"),
        endpoint="crm",
    )
    ingest(
        store,
        delivery("e1", 1, endpoint="a-first"),
        delivery("e10", 10, endpoint="a-first", state=DEAD, dead_reason=DeadReason.GONE),
        endpoint="a-first",
    )
    return store


def _page(store: Store, **query: Any) -> list[tuple[str, int, str]]:
    arguments: dict[str, Any] = {"state": None, "endpoint_id": None, "subscription_id": None,
                                 "after": None, "limit": 100} | query  # fmt: skip
    with log(store) as uow:
        return _listing(uow.deliveries_page(**arguments))


def test_pages_list_by_endpoint_sequence_and_event_after_a_key(listed: Store) -> None:
    everything = [
        ("a-first", 1, "e1"), ("a-first", 10, "e10"), ("crm", 1, "e1"), ("crm", 2, "e2a"),
        ("crm", 2, "e2b"), ("crm", 3, "e3"), ("crm", 4, "e4"),
    ]  # fmt: skip
    assert _page(listed) == everything
    pages, after = [], None
    while page := _page(listed, after=after, limit=3):
        pages.append(page)
        after = page[-1]
    assert pages == [everything[:3], everything[3:6], everything[6:]]
    assert _page(listed, after=("crm", 2, "e2a")) == everything[4:]
    assert _page(listed, after=("b", 0, "")) == everything[2:]
    assert _page(listed, after=("crm", 4, "e4")) == []


def test_pages_filter_by_state_endpoint_and_subscription(listed: Store) -> None:
    assert _page(listed, state=DEAD) == [("a-first", 10, "e10"), ("crm", 3, "e3")]
    assert _page(listed, state=PENDING, endpoint_id="crm") == [("crm", 2, "e2a"),
                                                                ("crm", 2, "e2b")]  # fmt: skip
    assert _page(listed, subscription_id="sub_2") == [("crm", 2, "e2b"), ("crm", 4, "e4")]
    assert _page(listed, state=SKIPPED, subscription_id="sub_1") == []
    assert _page(listed, endpoint_id="a-first", after=("a-first", 1, "e1")) == [
        ("a-first", 10, "e10")
    ]
    assert _page(listed, state=DEAD, after=("a-first", 10, "e10"), limit=1) == [("crm", 3, "e3")]
    with log(listed) as uow:
        records = uow.deliveries_page(state=DEAD, endpoint_id="crm", subscription_id=None,
                                      after=None, limit=10)  # fmt: skip
    assert records == [DeliveryRecord("crm", "e3", "sub_1", 3, state=DEAD,
                                      dead_reason=DeadReason.AGE)]  # fmt: skip


def test_counts_by_state(listed: Store) -> None:
    with log(listed) as uow:
        counts = {state: uow.count_deliveries(state) for state in DeliveryState}
    assert counts == {PENDING: 3, DELIVERED: 1, DEAD: 2, SKIPPED: 1}


# ---------------------------------------------------------------------------- what is kept


BODIES = {
    "ascii": b'{"type":"subscription.activated","data":{"plan":"standard"}}',
    "utf8": '{"name":"Zoë Ångström — 日本の店 🎉","note":"naïve café"}'.encode(),
    "empty": b"",
    "spaces": b'  {"a": 1}\r\n\t ',
    "bytes": bytes(range(256)),  # not even text: kept all the same
}


def test_bodies_are_kept_byte_for_byte(store: Store) -> None:
    ingest(store, *(delivery(name, i, body=body, subscription=name)
                    for i, (name, body) in enumerate(BODIES.items())))  # fmt: skip
    with log(store) as uow:
        found = uow.next_deliveries("crm", now=T0, hold_back=True, limit=10)
    assert {s.record.event_id: s.body for s in found} == BODIES
    for name, body in BODIES.items():
        assert stored(store, name).body == body
        claimed = claim(store, name, "a", T0)
        assert claimed is not None
        assert claimed.body == body


def test_a_record_with_everything_set_is_kept_whole(store: Store) -> None:
    east = dt.timezone(dt.timedelta(hours=2))
    result = AttemptResult(AttemptOutcome.GONE, T0.astimezone(east), status=410, error="Gone",
                           duration=0.25, retry_after=120.0)  # fmt: skip
    record = DeliveryRecord(
        "crm", "e1", "sub_1", 1, state=DEAD, attempts=3, first_attempt_at=T0 - MINUTE,
        last_result=result, dead_reason=DeadReason.GONE, redrives=1, redriven_by="operator:ana",
        redriven_at=T0 - 2 * MINUTE, skipped_by="operator:bo", skipped_at=T0 - 3 * MINUTE,
    )  # fmt: skip
    ingest(store, StoredDelivery(record, b"{}"))
    assert stored(store, "e1").record == record


def test_a_unit_of_work_that_raises_leaves_nothing(store: Store) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), log(store) as uow:
        assert uow.ingest_deliveries("crm", [delivery("e1", 1)], was=FeedCursor(),
                                     now=FeedCursor("p1", 1))  # fmt: skip
        assert uow.claim_delivery("crm", "e1", "a", now=T0, until=T0 + MINUTE) is not None
        raise Boom
    with log(store) as uow:
        assert uow.feed_cursor("crm") == FeedCursor()
        assert uow.get_delivery("crm", "e1") is None
    ingest(store, delivery("e1", 1))
    with pytest.raises(Boom), log(store) as uow:
        claimed = uow.claim_delivery("crm", "e1", "a", now=T0, until=T0 + MINUTE)
        assert claimed is not None
        assert uow.finish_delivery(claimed, skip(claimed.record, by="ana", at=T0))
        raise Boom
    kept = stored(store, "e1")
    assert (kept.record.state, kept.claimed_by, kept.generation) == (PENDING, None, 0)
    assert claim(store, "e1", "b", T0) is not None  # no claim was left behind
