"""Every kind of store a test runs over, opened as a test needs it: a ``make_store`` that opens
the test's store again for each "process" (the in-memory ones: the same object; a SQLite file; a
fresh PostgreSQL schema, dropped afterwards, and skipped saying why when no database is
configured)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reseller_plans.ports import Store
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.stores.postgres import PostgresStore
from reseller_plans.stores.sqlite import SQLiteStore
from reseller_plans.testing.packed_store import PackedStore

DSN = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")


def kinds(*names: str) -> list[object]:
    """Fixture params for these kinds (``postgres`` marked as such)."""
    return [pytest.param(n, marks=pytest.mark.postgres) if n == "postgres" else n for n in names]


@contextlib.contextmanager
def store_of(kind: str, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """The ``make_store`` of one test over one kind of store."""
    if kind in ("memory", "packed"):
        shared = InMemoryStore() if kind == "memory" else PackedStore()
        yield lambda: shared
        return
    if kind == "sqlite":
        yield lambda: SQLiteStore(tmp_path / "plans.sqlite3")
        return
    if not DSN:
        pytest.skip("no PostgreSQL configured: set RESELLER_PLANS_TEST_POSTGRES_DSN")
    schema = f"test_{uuid.uuid4().hex[:10]}"
    try:
        yield lambda: PostgresStore(DSN, schema=schema)
    finally:
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def store_fixture(*names: str) -> Any:
    """A module's ``make_store`` fixture, once over each of these kinds (see :func:`kinds`):
    ``make_store = store_fixture("memory", "sqlite", "postgres")``."""

    @pytest.fixture(params=kinds(*names))
    def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
        with store_of(request.param, tmp_path) as make:
            yield make

    return make_store
