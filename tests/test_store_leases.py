"""The store's part of one owner at a time, the same in every store: leases with a fencing
generation, outbox claims, atomic alias reservations and the notes of failed due work.

PostgreSQL runs when RESELLER_PLANS_TEST_POSTGRES_DSN is set (CI sets it); there, two
connections race for the same rows from two threads."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import psycopg
import pytest

from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.subscription import Term
from reseller_plans.ports import OutboxEntry, Store
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.stores.postgres import PostgresStore
from reseller_plans.stores.sqlite import SQLiteStore
from reseller_plans.testing.packed_store import PackedStore
from test_sqlite_store import T0, subscription

DSN = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")
LATER = T0 + dt.timedelta(minutes=1)
MINUTE = dt.timedelta(minutes=1)

Opener = Callable[[], Store]


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    if not DSN:
        pytest.skip("no PostgreSQL configured: set RESELLER_PLANS_TEST_POSTGRES_DSN")
    schema = f"test_{uuid.uuid4().hex[:10]}"
    yield schema
    with psycopg.connect(DSN, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["memory", "packed", "sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a store; every call to it opens another handle on the same data."""
    kind = request.param
    opened: list[Store] = []

    def track(store: Store) -> Store:
        opened.append(store)
        return store

    if kind in ("memory", "packed"):
        shared = InMemoryStore() if kind == "memory" else PackedStore()
        yield lambda: shared
    elif kind == "sqlite":
        path = tmp_path / "plans.sqlite3"
        yield lambda: track(SQLiteStore(path))
    else:
        schema = request.getfixturevalue("postgres_schema")
        yield lambda: track(PostgresStore(DSN, schema=schema))
    for store in opened:
        store.close()


def test_a_lease_has_one_owner_until_it_ends_and_changes_hands_with_a_new_generation(
    opener: Opener,
) -> None:
    store = opener()
    with store.unit_of_work() as uow:
        first = uow.take_lease("s1", "a", now=T0, until=T0 + MINUTE)
    with store.unit_of_work() as uow:
        refused = uow.take_lease("s1", "b", now=T0 + MINUTE / 2, until=T0 + 2 * MINUTE)
        renewed = uow.take_lease("s1", "a", now=T0 + MINUTE / 2, until=T0 + 2 * MINUTE)
    with store.unit_of_work() as uow:
        taken = uow.take_lease("s1", "b", now=T0 + 3 * MINUTE, until=T0 + 4 * MINUTE)
        stale = uow.take_lease("s1", "a", now=T0 + 3 * MINUTE, until=T0 + 4 * MINUTE)

    assert first is not None
    assert first.generation == 1
    assert refused is None
    assert renewed is not None
    assert renewed.generation == 1
    assert taken is not None
    assert (taken.owner, taken.generation) == ("b", 2)
    assert stale is None  # the old owner cannot take it back while the new one's lasts


def test_a_lease_says_when_it_was_taken_over_and_generations_only_go_up(opener: Opener) -> None:
    store = opener()
    with store.unit_of_work() as uow:
        first = uow.take_lease("s1", "a", now=T0, until=T0 + MINUTE)
    with store.unit_of_work() as uow:  # a never gave it back: b takes it over
        over = uow.take_lease("s1", "b", now=T0 + 2 * MINUTE, until=T0 + 3 * MINUTE)
    with store.unit_of_work() as uow:
        renewed = uow.take_lease("s1", "b", now=T0 + 2 * MINUTE, until=T0 + 4 * MINUTE)
    assert over is not None
    assert renewed is not None
    with store.unit_of_work() as uow:
        uow.release_lease(renewed)
    with store.unit_of_work() as uow:  # given back: c takes it, not over anyone
        after = uow.take_lease("s1", "c", now=T0 + 2 * MINUTE, until=T0 + 3 * MINUTE)
    with store.unit_of_work() as uow:  # a, back from a freeze, cannot pass for its old lease
        assert after is not None
        uow.release_lease(after)
        late = uow.take_lease("s1", "a", now=T0 + 2 * MINUTE, until=T0 + 3 * MINUTE)

    assert first is not None
    assert not first.taken_over
    assert (over.generation, over.taken_over) == (2, True)
    assert (renewed.generation, renewed.taken_over) == (2, True)
    assert (after.generation, after.taken_over) == (3, False)
    assert late is not None
    assert late.generation == 4 != first.generation


def test_reconciliation_requests_keep_the_earliest_and_end_only_when_due(opener: Opener) -> None:
    store = opener()
    with store.unit_of_work() as uow:
        uow.request_reconciliation("s2", at=T0 + 2 * MINUTE, reason="later")
        uow.request_reconciliation("s1", at=T0 + MINUTE, reason="first")
        uow.request_reconciliation("s1", at=T0 + 3 * MINUTE, reason="not earlier")
    with store.unit_of_work() as uow:
        assert uow.due_reconciliations(T0, 10) == []
        assert uow.due_reconciliations(T0 + 5 * MINUTE, 10) == [("s1", "first"), ("s2", "later")]
        assert uow.due_reconciliations(T0 + 5 * MINUTE, 1) == [("s1", "first")]
        uow.request_reconciliation("s2", at=T0, reason="sooner")
    with store.unit_of_work() as uow:
        assert uow.due_reconciliations(T0 + MINUTE, 10) == [("s2", "sooner"), ("s1", "first")]
        uow.finish_reconciliation("s1", now=T0)  # not due at T0: it stays
        uow.finish_reconciliation("s2", now=T0)
    with store.unit_of_work() as uow:
        assert uow.due_reconciliations(T0 + 5 * MINUTE, 10) == [("s1", "first")]
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.finish_reconciliation("s1", now=T0 + 5 * MINUTE)
        raise RuntimeError("roll back")
    with store.unit_of_work() as uow:
        assert uow.due_reconciliations(T0 + 5 * MINUTE, 10) == [("s1", "first")]


def test_releasing_a_lease_that_changed_hands_lets_the_new_owner_keep_it(opener: Opener) -> None:
    store = opener()
    with store.unit_of_work() as uow:
        old = uow.take_lease("s1", "a", now=T0, until=T0 + MINUTE)
    with store.unit_of_work() as uow:
        new = uow.take_lease("s1", "b", now=T0 + 2 * MINUTE, until=T0 + 3 * MINUTE)
    assert old is not None
    assert new is not None
    with store.unit_of_work() as uow:
        uow.release_lease(old)
    with store.unit_of_work() as uow:
        assert uow.take_lease("s1", "c", now=T0 + 2 * MINUTE, until=T0 + 3 * MINUTE) is None
        uow.release_lease(new)
    with store.unit_of_work() as uow:
        assert uow.take_lease("s1", "c", now=T0 + 2 * MINUTE, until=T0 + 3 * MINUTE) is not None


def test_a_lease_taken_in_a_unit_of_work_that_rolls_back_is_not_held(opener: Opener) -> None:
    store = opener()
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.take_lease("s1", "a", now=T0, until=T0 + MINUTE)
        raise RuntimeError("the command failed")
    with store.unit_of_work() as uow:
        lease = uow.take_lease("s1", "b", now=T0, until=T0 + MINUTE)
    assert lease is not None
    assert lease.owner == "b"


def test_failed_due_work_is_left_out_of_due_until_its_retry(opener: Opener) -> None:
    store = opener()
    ended = Term.starting(T0 - dt.timedelta(days=40))
    with store.unit_of_work() as uow:
        uow.add(subscription("s1", account="a1", term=ended), ())
        uow.add(subscription("s2", account="a2", term=ended), ())
        lease = uow.take_lease("s1", "w", now=T0, until=T0 + MINUTE)
    assert lease is not None
    with store.unit_of_work() as uow:
        uow.release_lease(lease, failure="KeyError: 'x'", retry_at=T0 + 5 * MINUTE)
    with store.unit_of_work() as uow:
        assert uow.due(T0, 10) == ["s2"]
        assert uow.due(T0 + 5 * MINUTE, 10) == ["s1", "s2"]
        # a failure does not hold the subscription: a command may take it at once
        assert uow.take_lease("s1", "cmd", now=T0, until=T0 + MINUTE) is not None


def _entry(entry_id: str = "m1") -> OutboxEntry:
    return OutboxEntry(entry_id, "s1", MessageKind.WELCOME, ("a@x.example",), {}, T0)


def test_a_message_is_claimed_by_one_sender_at_a_time(opener: Opener) -> None:
    store = opener()
    with store.unit_of_work() as uow:
        uow.add_outbox(_entry())
    with store.unit_of_work() as uow:
        mine = uow.claim_outbox("m1", "a", now=T0, until=T0 + MINUTE)
        theirs = uow.claim_outbox("m1", "b", now=T0, until=T0 + MINUTE)
    with store.unit_of_work() as uow:
        # the claim of a sender that died ends: the message goes again
        again = uow.claim_outbox("m1", "b", now=T0 + 2 * MINUTE, until=T0 + 3 * MINUTE)
    assert mine is not None
    assert mine.id == "m1"
    assert theirs is None
    assert again is not None
    with store.unit_of_work() as uow:
        uow.update_outbox(attrs.evolve(again, sent_at=LATER, attempts=1))
    with store.unit_of_work() as uow:
        assert uow.claim_outbox("m1", "c", now=T0 + 9 * MINUTE, until=T0 + 10 * MINUTE) is None


def test_an_alias_reservation_never_overwrites_another_accounts(opener: Opener) -> None:
    store = opener()
    with store.unit_of_work() as uow:
        assert uow.reserve_alias_hold("techsol", "3542")
        assert not uow.reserve_alias_hold("techsol", "9999")
        assert uow.reserve_alias_hold("techsol", "3542")  # again, for its own account
        uow.release_alias_hold("techsol", "9999")  # the loser's rollback deletes nothing
    with store.unit_of_work() as uow:
        hold = uow.get_alias_hold("techsol")
        assert hold is not None
        assert hold.account_id == "3542"
        uow.release_alias_hold("techsol", "3542")
    with store.unit_of_work() as uow:
        assert uow.get_alias_hold("techsol") is None


def test_two_handles_racing_for_the_same_leases_and_aliases_each_win_a_row_once(
    opener: Opener,
) -> None:
    stores = [opener(), opener()]
    wins: list[list[str]] = [[], []]
    aliases: list[list[str]] = [[], []]
    start = threading.Barrier(2)

    def race(i: int) -> None:
        start.wait()
        for n in range(40):
            with stores[i].unit_of_work() as uow:
                if uow.take_lease(f"s{n}", f"w{i}", now=T0, until=T0 + MINUTE) is not None:
                    wins[i].append(f"s{n}")
            with stores[i].unit_of_work() as uow:
                if uow.reserve_alias_hold(f"alias{n}", f"account{i}"):
                    aliases[i].append(f"alias{n}")

    threads = [threading.Thread(target=race, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(wins[0] + wins[1]) == sorted(f"s{n}" for n in range(40))
    assert set(wins[0]).isdisjoint(wins[1])
    assert sorted(aliases[0] + aliases[1]) == sorted(f"alias{n}" for n in range(40))
