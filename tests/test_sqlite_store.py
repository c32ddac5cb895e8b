"""SQLiteStore: transactions, uniqueness, due work, migrations, reopening after a crash."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import attrs
import pytest

from reseller_plans import ConcurrentUpdate, InvalidInput, Plan
from reseller_plans.domain import saga
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.events import Requested
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.subscription import OperationKind, Subscription, SubscriptionStatus, Term
from reseller_plans.ports import AliasHold, IdempotencyRecord, OutboxEntry
from reseller_plans.stores.sqlite import MIGRATIONS, SQLiteStore

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def subscription(sid: str = "s1", account: str = "3542", **kw: object) -> Subscription:
    values: dict[str, object] = {
        "id": sid,
        "account_id": account,
        "distributor_id": "D-100",
        "plan": Plan.STANDARD,
        "alias": StorefrontAlias("techsol"),
        "status": SubscriptionStatus.ACTIVE,
        "term": Term.starting(T0),
    }
    values.update(kw)
    return Subscription(**values)  # type: ignore[arg-type]


def test_a_subscription_round_trips_with_its_operation_and_history(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    sub = saga.start(subscription(status=SubscriptionStatus.PENDING), OperationKind.ACTIVATION)
    event = Requested(sub.id, T0, "3542", Plan.STANDARD, "bss")
    with store.unit_of_work() as uow:
        uow.add(sub, (event,))
    store.close()

    reopened = SQLiteStore(tmp_path / "db.sqlite3")
    with reopened.unit_of_work() as uow:
        assert uow.get(sub.id) == sub
        assert uow.history(sub.id) == [event]
        assert uow.live_subscription_of("3542") == sub
        assert uow.subscriptions_of("3542") == [sub]
        assert uow.due(T0, 10) == [sub.id]  # an operation in progress is due at once


def test_a_failed_unit_of_work_leaves_nothing_behind() -> None:
    store = SQLiteStore()
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.add(subscription(), ())
        raise RuntimeError("crash inside the transaction")
    with store.unit_of_work() as uow:
        assert uow.get("s1") is None


def test_one_live_subscription_per_account() -> None:
    store = SQLiteStore()
    with store.unit_of_work() as uow:
        uow.add(subscription("s1"), ())
    with pytest.raises(ConcurrentUpdate), store.unit_of_work() as uow:
        uow.add(subscription("s2"), ())
    with store.unit_of_work() as uow:
        uow.add(subscription("s3", status=SubscriptionStatus.CANCELLED), ())


def test_save_refuses_a_stale_version() -> None:
    store = SQLiteStore()
    sub = subscription()
    with store.unit_of_work() as uow:
        uow.add(sub, ())
        uow.save(subscription(version=2), (), expected_version=1)
    with pytest.raises(ConcurrentUpdate), store.unit_of_work() as uow:
        uow.save(subscription(version=3), (), expected_version=1)


def test_due_reads_term_ends_and_scheduled_changes_in_time_order() -> None:
    store = SQLiteStore()
    early = subscription("early", account="a", term=Term.starting(T0 - dt.timedelta(days=10)))
    late = subscription("late", account="b")
    with store.unit_of_work() as uow:
        uow.add(late, ())
        uow.add(early, ())
        assert uow.due(T0, 10) == []
        assert uow.due(late.term.end, 10) == ["early", "late"]
        assert uow.due(late.term.end, 1) == ["early"]


def test_outbox_idempotency_and_alias_holds_persist(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    entry = OutboxEntry("s1-2:welcome", "s1", MessageKind.WELCOME, ("a@b.example",), {"k": "v"}, T0)
    with store.unit_of_work() as uow:
        uow.add_outbox(entry)
        uow.add_outbox(entry)  # a second write of the same id is ignored
        uow.put_idempotency(IdempotencyRecord("distributor:D", "k1", "fp", "s1", T0))
        uow.put_alias_hold(AliasHold("techsol", "3542", T0))
        uow.put_alias_hold(AliasHold("other", "3600", None))
    with store.unit_of_work() as uow:
        assert uow.unsent_outbox(10) == [entry]
        uow.update_outbox(attrs.evolve(entry, sent_at=T0, attempts=1))
        assert uow.unsent_outbox(10) == []
        assert uow.outbox_of("s1")[0].sent_at == T0
        record = uow.get_idempotency("distributor:D", "k1")
        assert record is not None
        assert record.fingerprint == "fp"
        assert uow.get_idempotency("reseller:D", "k1") is None
        assert uow.expired_alias_holds(T0) == [AliasHold("techsol", "3542", T0)]
        uow.delete_alias_hold("techsol")
        assert uow.get_alias_hold("techsol") is None
        assert uow.get_alias_hold("other") == AliasHold("other", "3600", None)


def test_migrations_run_once_and_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = SQLiteStore(path)
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    assert SQLiteStore(path).schema_version == len(MIGRATIONS)
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    connection.close()
    with pytest.raises(InvalidInput, match="newer"):
        SQLiteStore(path)


def test_the_host_may_pass_its_own_connection_and_keeps_it_open() -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    store = SQLiteStore(connection=connection)
    with store.unit_of_work() as uow:
        uow.add(subscription(), ())
    store.close()
    assert connection.execute("SELECT count(*) FROM subscriptions").fetchone() == (1,)
    assert "host connection" in repr(store)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidInput):
        SQLiteStore(synchronous="SOMETIMES")
