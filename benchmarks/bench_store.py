"""Durable saga steps per second on SQLite (bar in DESIGN.md: >= 2,000).

Runs the same activations through ``ResellerPlans`` over the in-memory ports, once per store,
side by side: ``InMemoryStore`` (the baseline: no durability), ``SQLiteStore`` in a file with
``synchronous=NORMAL`` and with ``synchronous=FULL``. A durable saga step is one step outcome
recorded in its own committed transaction; every activation records four (order, license,
storefront, welcome email). Prints medians of several repeats.

    python benchmarks/bench_store.py --resellers 500 --repeats 5
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reseller_plans import Actor, Plan, ResellerAccount, StorefrontAlias
from reseller_plans.domain import saga
from reseller_plans.domain.lifecycle import Context
from reseller_plans.domain.saga import OPERATION_STEPS
from reseller_plans.domain.subscription import (
    OperationKind,
    Subscription,
    SubscriptionStatus,
    Term,
)
from reseller_plans.ports import Store
from reseller_plans.service import ResellerPlans
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.stores.sqlite import SQLiteStore
from reseller_plans.testing.fakes import (
    FakeBSS,
    FakeClock,
    FakeStorefront,
    InMemoryMailer,
    sample_distributor,
)

STEPS_PER_ACTIVATION = len(OPERATION_STEPS[OperationKind.ACTIVATION])


def run(make_store: Callable[[], Store], resellers: int) -> float:
    """Seconds to activate ``resellers`` accounts."""
    bss = FakeBSS()
    bss.add_distributor(sample_distributor("D-100"))
    for i in range(resellers):
        bss.add_account(ResellerAccount(f"A{i}", "D-100", f"Reseller {i}", f"r{i}@x.example"))
    ids = itertools.count()
    store = make_store()
    plans = ResellerPlans(
        bss=bss,
        storefront=FakeStorefront(bss),
        mailer=InMemoryMailer(),
        store=store,
        clock=FakeClock(),
        new_id=lambda: f"s{next(ids)}",
    )
    actor = Actor.distributor("D-100")
    started = time.perf_counter()
    for i in range(resellers):
        plans.upgrade(f"A{i}", Plan.FREE, alias=f"reseller{i}", actor=actor)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def record_steps(make_store: Callable[[], Store], subscriptions: int) -> float:
    """Seconds to record every activation step of ``subscriptions`` subscriptions, each step in
    its own committed transaction exactly as the driver does (read, fold, save with events)."""
    store = make_store()
    now = FakeClock().now()
    subs = []
    with store.unit_of_work() as uow:
        for i in range(subscriptions):
            sub = Subscription(
                f"s{i}", f"A{i}", "D-100", Plan.FREE, StorefrontAlias(f"reseller{i}"),
                SubscriptionStatus.PENDING, Term.starting(now),
            )  # fmt: skip
            sub = saga.start(sub, OperationKind.ACTIVATION, product_id="P")
            uow.add(sub, ())
            subs.append(sub.id)
    ctx = Context(at=now)
    started = time.perf_counter()
    for sid in subs:
        while True:
            with store.unit_of_work() as uow:
                current = uow.get(sid)
                assert current is not None
                step = saga.next_step(current)
                if step is None:
                    break
                result = saga.record(current, step, saga.Outcome.done("PS"), ctx)
                uow.save(result.subscription, result.events, expected_version=current.version)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resellers", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        counter = itertools.count()

        def sqlite(sync: str) -> Callable[[], Store]:
            return lambda: SQLiteStore(
                Path(folder) / f"bench{next(counter)}.sqlite3", synchronous=sync
            )

        stores: dict[str, Callable[[], Store]] = {
            "in-memory (baseline)": InMemoryStore,
            "sqlite NORMAL": sqlite("NORMAL"),
            "sqlite FULL": sqlite("FULL"),
        }
        steps_only: dict[str, float] = {}
        commands: dict[str, float] = {}
        for name, make in stores.items():
            steps_only[name] = statistics.median(
                record_steps(make, args.resellers) for _ in range(args.repeats)
            )
            commands[name] = statistics.median(
                run(make, args.resellers) for _ in range(args.repeats)
            )
    steps = args.resellers * STEPS_PER_ACTIVATION
    print(f"{args.resellers} activations = {steps} saga steps; median of {args.repeats} runs\n")
    for title, results in (
        ("durable saga steps (one committed transaction per step)", steps_only),
        ("whole upgrade commands through the service and fake ports", commands),
    ):
        base = results["in-memory (baseline)"]
        print(title)
        print(f"  {'store':22} {'seconds':>8} {'steps/s':>9} {'x baseline time':>16}")
        for name, seconds in results.items():
            print(f"  {name:22} {seconds:8.3f} {steps / seconds:9.0f} {seconds / base:16.2f}")
        print()
    print("bar: sqlite >= 2,000 durable saga steps per second")


if __name__ == "__main__":
    main()
