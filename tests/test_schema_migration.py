"""A store made by an earlier schema is upgraded in place to the latest (leases, claims,
reconciliation requests, the failed messages' index, the subscriptions' query columns, the
feed's order, the audit trail, webhook deliveries) when it is opened, keeps what it held, and
works: SQLite files and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from reseller_plans.delivery_log import FeedCursor, StoredDelivery
from reseller_plans.domain.audit import Audit
from reseller_plans.domain.deliveries import DeliveryRecord, DeliveryState
from reseller_plans.domain.events import Activated, MessageResent, Suspended
from reseller_plans.domain.filters import SubscriptionQuery
from reseller_plans.domain.messages import MessageKind, MessageStatus
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import SubscriptionStatus
from reseller_plans.ports import OutboxEntry
from reseller_plans.stores import postgres as pg_module
from reseller_plans.stores import sqlite as sqlite_module
from reseller_plans.stores.codec import dumps_event, dumps_subscription, outbox_to_row
from reseller_plans.stores.postgres import PostgresStore
from reseller_plans.stores.schema import schema_v1
from reseller_plans.stores.sqlite import SQLiteStore
from test_sqlite_store import T0, subscription

DSN = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")
MINUTE = dt.timedelta(minutes=1)


LATEST = len(sqlite_module.MIGRATIONS)
assert len(pg_module.MIGRATIONS) == LATEST


def _check_upgraded(store: SQLiteStore | PostgresStore) -> None:
    assert store.schema_version == LATEST
    with store.unit_of_work() as uow:
        kept = uow.get("s1")
        assert kept is not None
        assert kept.account_id == "3542"
        lease = uow.take_lease("s1", "w", now=T0, until=T0 + MINUTE)
        claimed = uow.claim_outbox("m1", "w", now=T0, until=T0 + MINUTE)
    assert lease is not None
    assert lease.generation == 1
    assert not lease.taken_over
    with store.unit_of_work() as uow:  # version 3: reconciliation requests
        uow.request_reconciliation("s1", at=T0, reason="test")
        assert uow.due_reconciliations(T0, 10) == [("s1", "test")]
    assert claimed is not None
    assert claimed.kind is MessageKind.WELCOME
    failed = OutboxEntry(
        "m1", "s1", MessageKind.WELCOME, ("a@x.example",), {}, T0, attempts=1, last_error="550",
        failed_permanently=True,
    )  # fmt: skip
    with store.unit_of_work() as uow:  # version 4: the failed messages, found by an index
        uow.update_outbox(failed)
    with store.unit_of_work() as uow:
        assert uow.count_outbox(MessageStatus.FAILED) == 1
        page = uow.outbox_page(status=MessageStatus.FAILED, subscription_id=None, after=None,
                               limit=10)  # fmt: skip
        assert [e.id for e in page] == ["m1"]
    with store.unit_of_work() as uow:  # version 5: the subscriptions' columns, filled in
        active = frozenset({SubscriptionStatus.ACTIVE})
        query = SubscriptionQuery(distributor_id="D-100", statuses=active, changed_since=T0)
        found = uow.subscriptions_page(query, after=None, limit=10)
        assert [sub.id for _, sub in found] == ["s1", "s2"]
        later = SubscriptionQuery(changed_since=T0 + dt.timedelta(microseconds=1))
        assert [sub.id for _, sub in uow.subscriptions_page(later, after=None, limit=10)] == ["s2"]
        past = SubscriptionQuery(changed_since=T0 + dt.timedelta(milliseconds=501))
        assert uow.subscriptions_page(past, after=None, limit=10) == []
    with store.unit_of_work() as uow:  # version 6: the feed, old events first
        uow.record_events([Activated("s1", T0 + MINUTE, Plan.STANDARD)])
    deadline = time.monotonic() + 10
    while True:  # PostgreSQL shows it once every transaction older than it has ended, and
        with store.unit_of_work() as uow:  # other sessions may share the server
            feed = uow.events_after(None, 10)
        if len(feed) == 5 or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert [e.event.at for e in feed][-1] == T0 + MINUTE  # after the old ones
    with store.unit_of_work() as uow:  # version 7: the audit trail, migrated
        history = uow.history("s1")
    assert [e.name for e in history] == ["Activated", "Suspended", "MessageResent", "Activated"]
    assert history[0].audit == Audit.unrecorded()
    assert history[1].audit == Audit("unrecorded", reason="non-payment")
    assert history[2].audit == Audit("distributor:D 100")  # its actor, in the audit's form
    assert history[3].audit is None  # written without one by this test, after the migration
    body = '{"plan":"standard","shop":"Zoë"}'.encode()
    new = StoredDelivery(DeliveryRecord("crm", "evt_1", "s1", 1), body)
    with store.unit_of_work() as uow:  # version 8: webhook cursors and deliveries
        assert uow.feed_cursor("crm") == FeedCursor()
        assert uow.ingest_deliveries("crm", [new], was=FeedCursor(), now=FeedCursor("p1", 1))
    with store.unit_of_work() as uow:
        claimed = uow.claim_delivery("crm", "evt_1", "w", now=T0, until=T0 + MINUTE)
        assert claimed is not None
        assert (claimed.body, claimed.generation) == (body, 1)
        assert uow.count_deliveries(DeliveryState.PENDING) == 1


def _v1_rows(run: Callable[[str, tuple[object, ...]], object], marker: str) -> None:
    entry = outbox_to_row(OutboxEntry("m1", "s1", MessageKind.WELCOME, ("a@x.example",), {}, T0))
    marks = ", ".join([marker] * 6)
    run(
        f"INSERT INTO subscriptions (id, account_id, live, due_at, version, body) VALUES ({marks})",  # noqa: S608
        ("s1", "3542", 1, None, 1, dumps_subscription(subscription("s1"))),
    )
    run(  # its one event, at T0: an instant written without a fraction
        f"INSERT INTO events (subscription_id, body) VALUES ({marker}, {marker})",  # noqa: S608
        ("s1", dumps_event(Activated("s1", T0, Plan.STANDARD))),
    )
    for event in (
        Suspended("s1", T0, "non-payment"),
        MessageResent("s1", T0, "m1", "welcome", "distributor D 100"),
    ):
        run(
            f"INSERT INTO events (subscription_id, body) VALUES ({marker}, {marker})",  # noqa: S608
            ("s1", dumps_event(event)),
        )
    east = dt.timezone(dt.timedelta(hours=2))  # a host clock not in UTC, with a fraction
    late = (T0 + dt.timedelta(milliseconds=500)).astimezone(east)
    run(
        f"INSERT INTO subscriptions (id, account_id, live, due_at, version, body) VALUES ({marks})",  # noqa: S608
        ("s2", "3543", 1, None, 1, dumps_subscription(subscription("s2", "3543"))),
    )
    run(
        f"INSERT INTO events (subscription_id, body) VALUES ({marker}, {marker})",  # noqa: S608
        ("s2", dumps_event(Activated("s2", late, Plan.STANDARD))),
    )
    run(
        f"INSERT INTO outbox ({', '.join(entry)}) VALUES ({', '.join([marker] * len(entry))})",  # noqa: S608
        tuple(entry.values()),
    )


@pytest.mark.parametrize("version", range(1, LATEST))
def test_an_older_sqlite_file_is_upgraded_in_place(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # as that version of the library made it
        db.executescript(schema_v1(sequence="INTEGER PRIMARY KEY AUTOINCREMENT"))
        _v1_rows(db.execute, "?")
        for migration in sqlite_module.MIGRATIONS[1:version]:
            db.executescript(migration)
        db.execute(f"PRAGMA user_version = {version}")
    db.close()

    store = SQLiteStore(path)
    try:
        _check_upgraded(store)
    finally:
        store.close()
    reopened = SQLiteStore(path)  # and opening it again migrates nothing more
    assert reopened.schema_version == LATEST
    reopened.close()


@pytest.mark.parametrize("version", [1, LATEST - 1])
def test_an_older_postgres_schema_is_upgraded_in_place(version: int) -> None:
    if not DSN:
        pytest.skip("no PostgreSQL configured: set RESELLER_PLANS_TEST_POSTGRES_DSN")
    schema = f"test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(DSN, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
        db.execute(f"SET search_path TO {schema}")
        for statement in pg_module.MIGRATIONS[0].split(";"):
            if statement.strip():
                db.execute(statement.encode())
        _v1_rows(lambda sql, params: db.execute(sql.encode(), params), "%s")
        for migration in pg_module.MIGRATIONS[1:version]:  # as that version of the library
            for statement in migration.split(";"):
                if statement.strip():
                    db.execute(statement.encode())
        db.execute("CREATE TABLE reseller_plans_schema (version INTEGER NOT NULL)")
        db.execute("INSERT INTO reseller_plans_schema VALUES (%s)", (version,))
    try:
        store = PostgresStore(DSN, schema=schema)
        try:
            _check_upgraded(store)
        finally:
            store.close()
    finally:
        with psycopg.connect(DSN, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {schema} CASCADE")
