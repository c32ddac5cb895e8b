"""``reseller-plans list`` as an operator runs it: the console script in a subprocess against
the emulator on loopback, filtering the distributor's subscriptions."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_world import Invoke, environment, invoker
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo(extra_resellers=3)) as running:
        yield running


@pytest.fixture
def run(server: EmulatorServer, tmp_path: Path) -> Invoke:
    return invoker(environment(server, tmp_path / "state.sqlite3"), tmp_path)


def test_list_filters_the_distributors_subscriptions(run: Invoke) -> None:
    before = dt.datetime.now(dt.UTC)
    assert run("upgrade", "10001", "--plan", "free", "--alias", "reseller-one")[0] == 0
    assert run("upgrade", "10002", "--plan", "standard", "--alias", "reseller-two")[0] == 0
    code, out, _ = run("--json", "list")
    assert code == 0
    listed = json.loads(out)
    assert [(s["account"], s["status"]) for s in listed] == [
        ("10001", "active"),
        ("10002", "active"),
    ]
    assert run("cancel", listed[0]["id"])[0] == 0

    code, out, _ = run("--json", "list", "--status", "active")
    assert [s["account"] for s in json.loads(out)] == ["10002"]
    code, out, _ = run("--json", "list", "--status", "active", "--status", "cancelled")
    assert len(json.loads(out)) == 2
    code, out, _ = run("--json", "list", "--plan", "free", "--sync", "synchronized")
    assert [s["account"] for s in json.loads(out)] == ["10001"]
    code, out, _ = run("--json", "list", "--account", "10002")
    assert [s["plan"] for s in json.loads(out)] == ["standard"]
    code, out, _ = run("--json", "list", "--changed-since", before.isoformat(), "--limit", "1")
    assert len(json.loads(out)) == 1
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    code, out, _ = run("--json", "list", "--changed-since", later)
    assert json.loads(out) == []

    code, out, _ = run("list", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["status"] for r in rows] == ["cancelled", "active"]
    code, out, _ = run("list")
    assert "2 subscriptions" in out


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--changed-since", "yesterday"),
        ("list", "--changed-since", "2026-01-01T00:00:00"),  # no offset
        ("list", "--status", "lost"),
        ("list", "--limit", "0"),
        ("--json", "list", "--csv"),
    ],
)
def test_bad_filters_are_usage_errors(run: Invoke, args: tuple[str, ...]) -> None:
    code, _, _ = run(*args)
    assert code == 2
