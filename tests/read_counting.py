"""Counting what a command reads: a store and backends that count the reads made through them.

Used by ``test_service_reads.py`` (which pins the counts) and runnable as a script, to print the
table of reads per command of whatever ``reseller_plans`` is on the path::

    python tests/read_counting.py
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from reseller_plans import Actor, Plan, ResellerAccount, Timing
from reseller_plans.service import ResellerPlans
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.fakes import (
    FakeBSS,
    FakeClock,
    FakeStorefront,
    InMemoryMailer,
    sample_distributor,
)
from reseller_plans.testing.faults import Faults

STORE_READS = (
    "get",
    "live_subscription_of",
    "subscriptions_of",
    "history",
    "due",
    "unsent_outbox",
    "outbox_of",
    "get_idempotency",
    "get_alias_hold",
    "expired_alias_holds",
)
SUBSCRIPTION_READS = ("get", "live_subscription_of", "subscriptions_of")
BACKEND_READS = ("bss.get_account", "bss.get_distributor", "storefront.is_alias_free")


class _CountingUnitOfWork:
    def __init__(self, uow: Any, counts: Counter[str]) -> None:
        self._uow = uow
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._uow, name)
        if name in STORE_READS:
            self._counts[f"store.{name}"] += 1
        return attr


class CountingStore:
    """An ``InMemoryStore`` whose units of work count every read by name."""

    def __init__(self) -> None:
        self.inner = InMemoryStore()
        self.counts: Counter[str] = Counter()

    @contextmanager
    def unit_of_work(self) -> Iterator[_CountingUnitOfWork]:
        with self.inner.unit_of_work() as uow:
            yield _CountingUnitOfWork(uow, self.counts)

    def close(self) -> None:
        self.inner.close()


class _Counting:
    def __init__(self, inner: Any, port: str, counts: Counter[str]) -> None:
        self._inner, self._port, self._counts = inner, port, counts

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if f"{self._port}.{name}" in BACKEND_READS:
            self._counts[f"{self._port}.{name}"] += 1
        return attr


START = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
DISTI = Actor.distributor("D-100")


class CountingWorld:
    """A service over counting ports, with one reseller per scenario."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.clock = FakeClock(START)
        self.bss = FakeBSS(self.faults)
        self.storefront = FakeStorefront(self.bss, self.faults)
        self.bss.add_distributor(sample_distributor("D-100"))
        self.store = CountingStore()
        self.backend: Counter[str] = Counter()
        self.plans = ResellerPlans(
            bss=_Counting(self.bss, "bss", self.backend),  # type: ignore[arg-type]
            storefront=_Counting(self.storefront, "storefront", self.backend),  # type: ignore[arg-type]
            mailer=InMemoryMailer(self.faults),
            store=self.store,  # type: ignore[arg-type]
            clock=self.clock,
        )
        self._accounts = 0

    def reseller(self) -> str:
        self._accounts += 1
        account_id = f"35{self._accounts:02d}"
        self.bss.add_account(
            ResellerAccount(
                id=account_id,
                distributor_id="D-100",
                name=f"Reseller {account_id}",
                email=f"owner@{account_id}.example",
            )
        )
        return account_id

    def measure(self, command: Callable[[], object]) -> dict[str, int]:
        """The reads ``command`` makes: store reads, subscription reads, backend reads."""
        self.store.counts.clear()
        self.backend.clear()
        command()
        store = self.store.counts
        return {
            "store": sum(store.values()),
            "subscriptions": sum(store[f"store.{n}"] for n in SUBSCRIPTION_READS),
            "distributor": self.backend["bss.get_distributor"],
            "backend": sum(self.backend.values()),
        }


def _upgraded(world: CountingWorld, plan: Plan = Plan.FREE) -> str:
    account = world.reseller()
    return world.plans.upgrade(account, plan, actor=DISTI, alias=f"shop{account}").id


def scenarios() -> dict[str, Callable[[CountingWorld], Callable[[], object]]]:
    """Each command, set up in a fresh world, as a function to measure."""

    def upgrade(w: CountingWorld) -> Callable[[], object]:
        account = w.reseller()
        return lambda: w.plans.upgrade(account, Plan.FREE, actor=DISTI, alias=f"shop{account}")

    def upgrade_free_to_standard(w: CountingWorld) -> Callable[[], object]:
        sid = _upgraded(w)
        account = w.plans.get(sid).account_id
        return lambda: w.plans.upgrade(account, Plan.STANDARD, actor=DISTI)

    def change_plan_now(w: CountingWorld) -> Callable[[], object]:
        sid = _upgraded(w)
        return lambda: w.plans.change_plan(sid, Plan.STANDARD, actor=DISTI)

    def change_plan_at_term_end(w: CountingWorld) -> Callable[[], object]:
        sid = _upgraded(w, Plan.STANDARD)
        return lambda: w.plans.change_plan(sid, Plan.FREE, actor=DISTI)

    def cancel_now(w: CountingWorld) -> Callable[[], object]:
        sid = _upgraded(w)
        return lambda: w.plans.cancel(sid, actor=DISTI)

    def cancel_at_term_end(w: CountingWorld) -> Callable[[], object]:
        sid = _upgraded(w)
        return lambda: w.plans.cancel(sid, actor=DISTI, timing=Timing.END_OF_TERM)

    def withdraw_change(w: CountingWorld) -> Callable[[], object]:
        sid = _upgraded(w)
        w.plans.cancel(sid, actor=DISTI, timing=Timing.END_OF_TERM)
        return lambda: w.plans.withdraw_change(sid, actor=DISTI)

    def suspend(w: CountingWorld) -> Callable[[], object]:
        sid = _upgraded(w)
        return lambda: w.plans.suspend(sid, actor=DISTI, reason="non-payment")

    def resume(w: CountingWorld) -> Callable[[], object]:
        sid = _upgraded(w)
        w.plans.suspend(sid, actor=DISTI)
        return lambda: w.plans.resume(sid, actor=DISTI)

    def retry(w: CountingWorld) -> Callable[[], object]:
        account = w.reseller()
        w.faults.fail("storefront.activate_storefront", times=3)
        sid = w.plans.upgrade(account, Plan.FREE, actor=DISTI, alias=f"shop{account}").id
        return lambda: w.plans.retry(sid, actor=DISTI)

    def run_due_renewal(w: CountingWorld) -> Callable[[], object]:
        sid = _upgraded(w)
        end = w.plans.get(sid).term.end
        return lambda: w.plans.run_due(end)

    def check(w: CountingWorld) -> Callable[[], object]:
        account = w.reseller()
        return lambda: w.plans.check(account, Plan.STANDARD, actor=DISTI, alias=f"shop{account}")

    return {
        "upgrade": upgrade,
        "upgrade Free → Standard": upgrade_free_to_standard,
        "change_plan now": change_plan_now,
        "change_plan at term end": change_plan_at_term_end,
        "cancel now": cancel_now,
        "cancel at term end": cancel_at_term_end,
        "withdraw_change": withdraw_change,
        "suspend": suspend,
        "resume": resume,
        "retry": retry,
        "run_due (a renewal)": run_due_renewal,
        "check": check,
    }


def measure_all() -> dict[str, dict[str, int]]:
    """The reads of every scenario, each in a world of its own."""
    results = {}
    for name, setup in scenarios().items():
        world = CountingWorld()
        results[name] = world.measure(setup(world))
    return results


if __name__ == "__main__":
    print(f"{'command':<26} {'store':>6} {'subs':>5} {'distr':>6} {'backend':>8}")
    for name, counts in measure_all().items():
        print(
            f"{name:<26} {counts['store']:>6} {counts['subscriptions']:>5} "
            f"{counts['distributor']:>6} {counts['backend']:>8}"
        )
