"""Two real processes race over one SQL store (a SQLite file, a PostgreSQL schema), each
playing ``delivery_racer.py``: for the same claims, exactly one wins each; moving the same
cursors from the same place, exactly one moves each, and only its deliveries are kept."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reseller_plans.ports import Store
from store_kinds import DSN, kinds, store_of
from test_delivery_log import T0, delivery, ingest, log, stored

RACER = Path(__file__).with_name("delivery_racer.py")

RACE_KEYS = 6


@pytest.fixture(params=kinds("sqlite", "postgres"))
def shared(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Store, dict[str, Any]]]:
    """A SQL store, and how another process opens the same database."""
    with store_of(request.param, tmp_path) as make:
        opened = make()
        if request.param == "sqlite":
            spec: dict[str, Any] = {"kind": "sqlite", "path": str(tmp_path / "plans.sqlite3")}
        else:
            spec = {"kind": "postgres", "dsn": DSN, "schema": getattr(opened, "schema", None)}
        try:
            yield opened, spec
        finally:
            opened.close()


def _race(folder: Path, spec: dict[str, Any], operation: str) -> dict[str, list[str]]:
    """Two processes play ``operation`` over the same keys at once; what each one won."""
    go = folder / f"{operation}.go"
    children: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for owner in ("one", "two"):
        settings = {"store": spec, "operation": operation, "owner": owner, "keys": RACE_KEYS,
                    "now": T0.isoformat(), "go": str(go), "ready": str(folder / f"{owner}.ready"),
                    "result": str(folder / f"{owner}.json"), "hold": 0.05}  # fmt: skip
        output = folder / f"{owner}.log"
        with output.open("wb") as out:
            child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
                [sys.executable, str(RACER), json.dumps(settings)], stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        children[owner] = (child, output)
    try:
        deadline = time.monotonic() + 60
        while not all((folder / f"{owner}.ready").exists() for owner in children):
            for owner, (child, output) in children.items():
                assert child.poll() is None, f"{owner} ended early:\n{output.read_text()}"
            assert time.monotonic() < deadline, "the racers did not get ready"
            time.sleep(0.01)
        go.touch()  # both have their store open: they start together
        won: dict[str, list[str]] = {}
        for owner, (child, output) in children.items():
            assert child.wait(90) == 0, f"{owner} failed:\n{output.read_text()}"
            won[owner] = json.loads((folder / f"{owner}.json").read_text())
        return won
    finally:
        for child, _ in children.values():
            if child.poll() is None:
                child.kill()
                child.wait()


def test_two_processes_racing_for_a_claim_one_wins(
    shared: tuple[Store, dict[str, Any]], tmp_path: Path
) -> None:
    store, spec = shared
    ingest(store, *(delivery(f"e{i}", i + 1) for i in range(RACE_KEYS)))
    won = _race(tmp_path, spec, "claim")
    keys = [f"e{i}" for i in range(RACE_KEYS)]
    assert sorted(won["one"] + won["two"]) == keys
    assert not set(won["one"]) & set(won["two"])
    for key in keys:
        kept = stored(store, key)
        owner = "one" if key in won["one"] else "two"
        assert (kept.claimed_by, kept.generation) == (owner, 1)


def test_two_processes_moving_the_same_cursor_one_wins(
    shared: tuple[Store, dict[str, Any]], tmp_path: Path
) -> None:
    store, spec = shared
    for i in range(RACE_KEYS):  # half the endpoints new, half already ingested from
        if i % 2:
            ingest(store, delivery("e0", 1, endpoint=f"ep{i}"), endpoint=f"ep{i}")
    won = _race(tmp_path, spec, "ingest")
    endpoints = [f"ep{i}" for i in range(RACE_KEYS)]
    assert sorted(won["one"] + won["two"]) == endpoints
    assert not set(won["one"]) & set(won["two"])
    with log(store) as uow:
        for endpoint in endpoints:
            owner = "one" if endpoint in won["one"] else "two"
            cursor = uow.feed_cursor(endpoint)
            assert cursor.position == f"{owner}@{endpoint}"
            kept = [uow.get_delivery(endpoint, f"e{n}") for n in range(3)]
            bodies = {s.record.event_id: s.body for s in kept if s is not None}
            assert bodies.pop("e1") == bodies.pop("e2") == owner.encode()  # the winner's only
            assert list(bodies) == (["e0"] if int(endpoint[2:]) % 2 else [])
