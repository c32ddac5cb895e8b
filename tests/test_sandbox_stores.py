"""``Sandbox`` runs over any ``SandboxStore``: the in-memory store, ``SQLiteStore(":memory:")``
and the simulator's ``PackedStore`` give the same world for a seed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
import pytest

from reseller_plans import Plan
from reseller_plans.domain.events import Event, Renewed
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.stores.sqlite import SQLiteStore
from reseller_plans.testing import Sandbox, SandboxStore, SimulationReport, Simulator
from reseller_plans.testing.packed_store import PackedStore
from reseller_plans.testing.simulator import _PlainTemplates

STORES: dict[str, Callable[[], SandboxStore]] = {
    "memory": InMemoryStore,
    "sqlite": lambda: SQLiteStore(":memory:"),
    "packed": PackedStore,
}


def simulate(store: Callable[[], SandboxStore]) -> SimulationReport:
    def world(seed: int, start: dt.datetime) -> Sandbox:
        return Sandbox(seed, start, templates=_PlainTemplates(), keep_messages=False, store=store())

    return Simulator(seed=7, resellers=300, months=3, sandbox=world).run()


@pytest.fixture(scope="module")
def over_memory() -> SimulationReport:
    return simulate(STORES["memory"])


@pytest.mark.parametrize("kind", ["sqlite", "packed"])
def test_a_simulation_gives_the_same_report_over_each_store(
    over_memory: SimulationReport, kind: str
) -> None:
    report = simulate(STORES[kind])

    assert over_memory.steps > 0
    assert over_memory.ok
    for field in attrs.fields(SimulationReport):  # field by field, to name the one that differs
        assert getattr(report, field.name) == getattr(over_memory, field.name), field.name


@pytest.mark.parametrize("kind", sorted(STORES))
def test_every_store_answers_the_sandbox_alike(kind: str) -> None:
    sandbox = Sandbox(store=STORES[kind]())
    seen: list[Event] = []
    sandbox.store.add_listener(seen.extend)
    reseller = sandbox.reseller()
    sub = sandbox.upgrade(reseller, Plan.FREE)

    assert sandbox.store.next_due_after(sandbox.now()) == sub.term.end
    assert not sandbox.store.has_due_work(sandbox.now())
    assert sandbox.store.has_due_work(sub.term.end)
    sandbox.advance(months=1)

    events = sandbox.events
    assert [e.name for e in events][-1] == "Renewed"
    assert seen == events
    assert sandbox.store.events(len(events) - 1) == events[-1:]
    assert [s.id for s in sandbox.store.iter_subscriptions()] == [sub.id]
    assert sum(sandbox.store.census().values()) == 1
    sandbox.check_invariants()


def test_sqlite_listeners_see_a_commit_only_once_it_is_committed() -> None:
    store = SQLiteStore(":memory:")
    seen: list[list[Event]] = []
    store.add_listener(seen.append)
    sandbox = Sandbox(store=store)
    reseller = sandbox.reseller()
    sub = sandbox.upgrade(reseller, Plan.FREE)
    before = list(seen)
    renewed = attrs.evolve(sub, term=sub.term.renewed(), version=sub.version + 1)

    with pytest.raises(RuntimeError, match="crash"), store.unit_of_work() as uow:
        uow.save(
            renewed,
            (Renewed(sub.id, sub.term.end, renewed.term.end),),
            expected_version=sub.version,
        )
        raise RuntimeError("crash")

    assert before  # the upgrade's commits were shown
    assert seen == before  # the rolled back unit of work told nobody
    assert [e for batch in seen for e in batch] == sandbox.events
