"""The multi-process tests' fixture: a fresh world per test, on a SQLite file and on a
PostgreSQL schema of its own (skipped, saying why, when RESELLER_PLANS_TEST_POSTGRES_DSN is not
set); every child process it started is killed at the end, whatever happened. And ``store``:
the same two kinds named for child processes that open the store themselves."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from mp_harness import DSN, Harness


@pytest.fixture(params=["sqlite", "postgres"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A fresh world per test: a SQLite file, or a PostgreSQL schema of its own."""
    schema = None
    if request.param == "postgres":
        if not DSN:
            pytest.skip("no PostgreSQL configured: set RESELLER_PLANS_TEST_POSTGRES_DSN")
        schema = f"mp_{os.urandom(5).hex()}"
    h = Harness(request.param, tmp_path, schema)
    try:
        yield h
    finally:
        h.kill_all()
        h.store.close()
        if schema is not None:
            with psycopg.connect(DSN or "", autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store for child processes to open, as ``sqlite:PATH`` or ``postgres:SCHEMA`` (the
    schema dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'plans.sqlite3'}"
        return
    if not DSN:
        pytest.skip("no PostgreSQL configured: set RESELLER_PLANS_TEST_POSTGRES_DSN")
    schema = f"mp_{os.urandom(5).hex()}"
    yield f"postgres:{schema}"
    with psycopg.connect(DSN, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
