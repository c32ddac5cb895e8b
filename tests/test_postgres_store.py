"""PostgresStore against a real PostgreSQL server (RESELLER_PLANS_TEST_POSTGRES_DSN; CI sets it).

Each test gets its own schema, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from reseller_plans import ConcurrentUpdate, InvalidInput, Plan
from reseller_plans.domain.subscription import SubscriptionStatus
from reseller_plans.stores.postgres import MIGRATIONS, PostgresStore
from reseller_plans.testing.faults import SimulatedCrash
from service_world import make_world
from test_sqlite_store import subscription

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
        PostgresStore()
