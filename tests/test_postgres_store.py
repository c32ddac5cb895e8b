"""PostgresStore against a real PostgreSQL server (RESELLER_PLANS_TEST_POSTGRES_DSN; CI sets it).

Each test gets its own schema, dropped afterwards."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from reseller_plans import ConcurrentUpdate, InvalidInput, Plan
from reseller_plans.domain.subscription import SubscriptionStatus, Term
from reseller_plans.stores.postgres import MIGRATIONS, PostgresStore
from reseller_plans.testing.faults import SimulatedCrash
from service_world import make_world
from test_sqlite_store import T0, subscription

DSN = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not DSN, reason="no PostgreSQL configured: set RESELLER_PLANS_TEST_POSTGRES_DSN"
    ),
]


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"rp_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(DSN or "", autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE".encode())


def test_round_trip_history_and_one_live_subscription_per_account(schema: str) -> None:
    store = PostgresStore(DSN, schema=schema)
    sub = subscription()
    with store.unit_of_work() as uow:
        uow.add(sub, ())
    with pytest.raises(ConcurrentUpdate), store.unit_of_work() as uow:
        uow.add(subscription("s2"), ())
    with store.unit_of_work() as uow:
        assert uow.get("s1") == sub
        assert uow.get("s2") is None
        assert uow.subscriptions_of("3542") == [sub]
    store.close()
    reopened = PostgresStore(DSN, schema=schema)
    assert reopened.schema_version == len(MIGRATIONS)
    reopened.close()


def test_two_workers_never_claim_the_same_due_subscription(schema: str) -> None:
    first = PostgresStore(DSN, schema=schema)
    second = PostgresStore(DSN, schema=schema)
    ended = Term.starting(T0 - dt.timedelta(days=40))
    with first.unit_of_work() as uow:
        for i in range(10):
            uow.add(subscription(f"s{i}", account=f"a{i}", term=ended), ())
    with first.unit_of_work() as uow:
        mine = uow.due(T0, 6)
    with second.unit_of_work() as uow:
        theirs = uow.due(T0, 100)
    assert len(mine) == 6
    assert len(theirs) == 4
    assert set(mine).isdisjoint(theirs)
    # once the lease ends, the work is claimable again (a worker that died releases it)
    with second.unit_of_work() as uow:
        assert len(uow.due(T0 + first.lease, 100)) == 10
    first.close()
    second.close()


def test_the_service_runs_and_resumes_after_a_crash_over_postgres(schema: str) -> None:
    world = make_world(lambda: PostgresStore(DSN, schema=schema))
    world.reseller("3542")
    world.faults.crash("storefront.activate_storefront")
    with pytest.raises(SimulatedCrash):
        world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    world.store.close()
    world.faults.clear()
    plans = world.restart()
    plans.run_due()
    sub = plans.subscription_of("3542")
    assert sub is not None
    assert sub.status is SubscriptionStatus.ACTIVE
    assert world.check_invariants() == []
    world.plans.cancel(sub.id, actor=world.disti)
    assert plans.plan_of("3542") is Plan.BASIC
    world.store.close()


def test_bad_settings_are_refused(schema: str) -> None:
    with pytest.raises(InvalidInput):
        PostgresStore(DSN, schema="no-dashes; DROP")
    with pytest.raises(InvalidInput):
        PostgresStore(DSN, schema=schema, lease=dt.timedelta(0))
    with pytest.raises(InvalidInput):
        PostgresStore()
