"""The Simulator against its bars in DESIGN.md: 10,000 resellers x 12 months in <= 10 s on two
cores, and <= 2 KiB of memory per subscription.

Runs of the same seeded simulation (faults and crashes on, invariants checked after every step):
timed ones in one process and in two (``workers=2``: the population split into two worlds, one
per core; wall time and this process's CPU time, the best run counts), and one under
``tracemalloc`` in one process (which slows Python down, so it is not timed) for the peak of
traced memory. Bytes per subscription = that peak,
less what was allocated before the simulator started, divided by the subscriptions the run
created. A breakdown follows: what the store, the fake platform (BSS, Storefront, mailer) and the
population of accounts hold at the end, measured by walking their objects.

    python benchmarks/bench_simulator.py --resellers 10000 --months 12 --seed 7
"""

from __future__ import annotations

import argparse
import enum
import gc
import sys
import time
import tracemalloc

from reseller_plans.testing import Sandbox, SimulationReport, Simulator

TIME_BAR_S = 10.0
MEMORY_BAR_BYTES = 2 * 1024


def timed(simulator: Simulator) -> tuple[SimulationReport, float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    report = simulator.run()
    return report, time.perf_counter() - wall, time.process_time() - cpu


def traced(simulator: Simulator) -> tuple[SimulationReport, int, int]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    report = simulator.run()  # simulator.world keeps the world alive for "retained"
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return report, peak - base, current - base


def deep_size(root: object, seen: set[int]) -> int:
    """Bytes of ``root`` and everything it reaches that ``seen`` does not hold yet."""
    total, stack = 0, [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, type | enum.Enum):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack += obj.keys()
            stack += obj.values()
        elif isinstance(obj, list | tuple | set | frozenset):
            stack += obj
        elif hasattr(obj, "__slots__"):
            stack += [
                getattr(obj, name)
                for cls in type(obj).__mro__
                for name in getattr(cls, "__slots__", ())
                if hasattr(obj, name)
            ]
        elif hasattr(obj, "__dict__"):
            stack.append(vars(obj))
    return total


def breakdown(world: Sandbox, subscriptions: int) -> str:
    seen: set[int] = set()
    # The population first, so the strings subscriptions share with their accounts count there.
    parts = {
        "accounts and distributors": deep_size((world.bss.accounts, world.bss.distributors), seen),
        "store": deep_size(world.store, seen),
        "fake platform": deep_size((world.bss, world.storefront, world.mailer), seen),
    }
    return ", ".join(f"{name} {size / subscriptions:,.0f} B" for name, size in parts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resellers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts")
    args = parser.parse_args()

    def simulator(workers: int = 1) -> Simulator:
        return Simulator(
            seed=args.seed, resellers=args.resellers, months=args.months, workers=workers
        )

    runs = [timed(simulator()) for _ in range(args.repeats)]
    report, wall, cpu = min(runs, key=lambda run: run[1])
    assert all(r == report for r, _, _ in runs), "the same seed must replay the same report"
    parallel_runs = [timed(simulator(workers=2)) for _ in range(args.repeats)]
    parallel, parallel_wall, _ = min(parallel_runs, key=lambda run: run[1])
    assert all(r == parallel for r, _, _ in parallel_runs)
    kept = simulator()
    traced_report, peak, retained = traced(kept)
    assert traced_report == report
    assert kept.world is not None

    subs = report.subscriptions
    per_sub_peak, per_sub_retained = peak / subs, retained / subs
    print(
        f"Simulator: {args.resellers:,} resellers x {args.months} months, seed {args.seed}: "
        f"{report.steps:,} commands, {subs:,} subscriptions, "
        f"{report.events.get('Renewed', 0):,} renewals, {sum(report.events.values()):,} events, "
        f"{report.emails_sent:,} emails, {sum(report.faults_injected.values()):,} faults, "
        f"{report.restarts} restarts, {len(report.violations)} invariant violations"
    )
    print(
        f"  time, one process: {wall:.2f} s wall (best of {args.repeats}: "
        f"{', '.join(f'{w:.2f}' for _, w, _ in runs)}), {cpu:.2f} s CPU   "
        f"bar <= {TIME_BAR_S:.0f} s: {'PASS' if wall <= TIME_BAR_S else 'FAIL'}"
    )
    print(
        f"  time, two processes: {parallel_wall:.2f} s wall (best of {args.repeats}: "
        f"{', '.join(f'{w:.2f}' for _, w, _ in parallel_runs)}); "
        f"{parallel.subscriptions:,} subscriptions, "
        f"{len(parallel.violations)} invariant violations   "
        f"bar <= {TIME_BAR_S:.0f} s: {'PASS' if parallel_wall <= TIME_BAR_S else 'FAIL'}"
    )
    print(
        f"  memory: peak {peak / 2**20:.1f} MiB traced, {per_sub_peak:,.0f} B per subscription "
        f"(retained with the world alive {per_sub_retained:,.0f} B)   "
        f"bar <= {MEMORY_BAR_BYTES:,} B: {'PASS' if per_sub_peak <= MEMORY_BAR_BYTES else 'FAIL'}"
    )
    print(f"  per subscription at the end: {breakdown(kept.world, subs)}")


if __name__ == "__main__":
    main()
