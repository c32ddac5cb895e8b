"""Benchmark: N workers calling ``run_due()`` over one PostgreSQL store, side by side.

Seeds activations left in progress (each an operation whose first step has not run), then
starts N worker processes at a barrier; each builds its own ``ResellerPlans`` over the same
database, with in-process fakes that sleep a few milliseconds per call (I/O-bound work, as
with a real BSS and Storefront), and calls ``run_due()`` until nothing is left. Every backend
effect (order, license, alias hold, storefront, email) is appended to one recorder file shared
by all processes; a duplicate is a second effect of one kind for one subscription.

Runs N = 1, 2 and 4 interleaved, ``--repeats`` times, and prints per N the median wall time
from the barrier until the queue is empty, activations per second, CPU used by the workers,
each worker's share of the steps, duplicates, and the ratio to N = 1. The bar: 0 duplicates,
and at least 1.8x the N = 1 throughput at N = 2.

    RESELLER_PLANS_TEST_POSTGRES_DSN=postgresql://postgres@127.0.0.1:5432/test \\
        python benchmarks/bench_workers.py --activations 1000 --repeats 5
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from reseller_plans import LeaseSettings, Plan, ResellerAccount, StorefrontAlias
from reseller_plans.domain import saga
from reseller_plans.domain.subscription import (
    Channel,
    OperationKind,
    Subscription,
    SubscriptionStatus,
    Term,
)
from reseller_plans.ports import EmailMessage, PlanOrder, SystemClock
from reseller_plans.service import ResellerPlans
from reseller_plans.stores.postgres import PostgresStore
from reseller_plans.testing.fakes import FakeBSS, FakeStorefront, sample_distributor

LEASES = LeaseSettings(
    lease=dt.timedelta(seconds=30),
    step_deadline=dt.timedelta(seconds=10),
    margin=dt.timedelta(seconds=2),
    busy_timeout=dt.timedelta(seconds=1),
)


class _Recorder:
    """Appends one line per backend effect to a file every worker shares."""

    def __init__(self, path: str, worker: int) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._worker = worker

    def effect(self, kind: str, subject: str, delay: float) -> None:
        time.sleep(delay)
        os.write(self._fd, f"{self._worker} {kind} {subject}\n".encode())


class _BSS(FakeBSS):
    def __init__(self, recorder: _Recorder, delay: float) -> None:
        super().__init__()
        self._recorder, self._delay = recorder, delay

    def place_plan_order(self, **kwargs: Any) -> PlanOrder:
        self._recorder.effect("order", kwargs["account_id"], self._delay)
        return PlanOrder(f"O-{kwargs['idempotency_key']}", f"PS-{kwargs['account_id']}")

    def provision_license(self, account_id: str, plan: Plan, *, idempotency_key: str) -> None:
        self._recorder.effect("license", account_id, self._delay)


class _Storefront(FakeStorefront):
    def __init__(self, bss: FakeBSS, recorder: _Recorder, delay: float) -> None:
        super().__init__(bss)
        self._recorder, self._delay = recorder, delay

    def hold_alias(self, alias: StorefrontAlias, *, account_id: str) -> None:
        self._recorder.effect("hold", account_id, self._delay)

    def activate_storefront(
        self, account_id: str, alias: StorefrontAlias, plan: Plan, *, idempotency_key: Any = None
    ) -> str:
        self._recorder.effect("storefront", account_id, self._delay)
        return f"https://{alias.value}.example"


class _Mailer:
    def __init__(self, recorder: _Recorder, delay: float) -> None:
        self._recorder, self._delay = recorder, delay

    def send(self, message: EmailMessage) -> None:
        self._recorder.effect("email", message.message_id, self._delay)


def _world(bss: FakeBSS, count: int) -> None:
    bss.add_distributor(sample_distributor("D-100"))
    for i in range(count):
        bss.add_account(ResellerAccount(f"A{i}", "D-100", f"Reseller {i}", f"r{i}@x.example"))


def _seed(dsn: str, schema: str, count: int) -> None:
    store = PostgresStore(dsn, schema=schema)
    start = SystemClock().now()
    with store.unit_of_work() as uow:
        for i in range(count):
            sub = Subscription(
                f"sub_{i}", f"A{i}", "D-100", Plan.FREE, StorefrontAlias(f"shop{i}"),
                SubscriptionStatus.PENDING, Term.starting(start), Channel.BSS,
            )  # fmt: skip
            uow.add(saga.start(sub, OperationKind.ACTIVATION, product_id="free"), ())
    store.close()


def _worker(index: int, dsn: str, schema: str, count: int, recorder: str, delay: float,
            barrier: Any, results: Any) -> None:  # fmt: skip
    rec = _Recorder(recorder, index)
    bss = _BSS(rec, delay)
    _world(bss, count)
    store = PostgresStore(dsn, schema=schema)
    plans = ResellerPlans(
        bss=bss, storefront=_Storefront(bss, rec, delay), mailer=_Mailer(rec, delay),
        store=store, leases=LEASES,
    )  # fmt: skip
    barrier.wait()
    cpu = time.process_time()
    busy = 0
    while True:
        report = plans.run_due()
        busy += report.busy
        if report.subscriptions == 0 and report.emails_sent == 0 and report.busy == 0:
            break
    results.put((index, time.monotonic(), time.process_time() - cpu, busy))
    store.close()


def run_once(dsn: str, workers: int, count: int, delay: float) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    _seed(dsn, schema, count)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    with tempfile.TemporaryDirectory() as folder:
        recorder = str(Path(folder) / "effects.log")
        processes = [
            context.Process(
                target=_worker,
                args=(i, dsn, schema, count, recorder, delay, barrier, results),
            )
            for i in range(workers)
        ]
        for process in processes:
            process.start()
        barrier.wait()
        started = time.monotonic()
        finished = [results.get(timeout=600) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        lines = Path(recorder).read_text().split("\n")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")
    effects = [line.split(" ", 2) for line in lines if line]
    per_effect = collections.Counter((kind, subject) for _, kind, subject in effects)
    by_worker = collections.Counter(worker for worker, _, _ in effects)
    return {
        "wall": max(end for _, end, _, _ in finished) - started,
        "cpu": sum(cpu for _, _, cpu, _ in finished),
        "duplicates": sum(n - 1 for n in per_effect.values() if n > 1),
        "effects": len(effects),
        "shares": sorted(by_worker[str(i)] / max(1, len(effects)) for i in range(workers)),
        "busy": sum(busy for _, _, _, busy in finished),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activations", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--delay-ms", type=float, default=5.0, help="per backend call")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args(argv)
    dsn = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")
    if not dsn:
        print("set RESELLER_PLANS_TEST_POSTGRES_DSN to a PostgreSQL database", file=sys.stderr)
        return 2
    counts = [int(n) for n in args.workers.split(",")]
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    for repeat in range(args.repeats):  # interleaved: 1, 2, 4, 1, 2, 4, ...
        for n in counts:
            runs[n].append(run_once(dsn, n, args.activations, args.delay_ms / 1000))
        print(f"  repeat {repeat + 1}/{args.repeats} done", file=sys.stderr)
    base = statistics.median(r["wall"] for r in runs[counts[0]])
    print(
        f"{args.activations:,} activations, {args.delay_ms:g} ms a backend call, "
        f"{args.repeats} interleaved repeats, medians"
    )
    print(f"{'workers':>7} {'wall s':>8} {'act/s':>8} {'cpu s':>7} {'ratio':>6} {'dups':>5} "
          f"{'busy':>6}  shares of the effects")  # fmt: skip
    ok = True
    for n in counts:
        wall = statistics.median(r["wall"] for r in runs[n])
        cpu = statistics.median(r["cpu"] for r in runs[n])
        dups = max(r["duplicates"] for r in runs[n])
        busy = statistics.median(r["busy"] for r in runs[n])
        shares = runs[n][-1]["shares"]
        ratio = base / wall
        ok = ok and dups == 0
        print(f"{n:>7} {wall:>8.2f} {args.activations / wall:>8.0f} {cpu:>7.2f} {ratio:>5.2f}x "
              f"{dups:>5} {busy:>6.0f}  {', '.join(f'{s:.0%}' for s in shares)}")  # fmt: skip
        if n == 2:
            ok = ok and ratio >= 1.8
    print("PASS" if ok else "FAIL", "(bar: 0 duplicates, >= 1.8x at 2 workers)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
