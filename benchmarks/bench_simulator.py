"""The Simulator against its bars in DESIGN.md: 10,000 resellers x 12 months in <= 10 s on two
cores, and <= 2 KiB of memory per subscription.

Two runs of the same seeded simulation (faults and crashes on, invariants checked after every
step): one timed (wall and CPU time), one under ``tracemalloc`` (which slows Python down, so it
is not timed) for the peak of traced memory. Bytes per subscription = that peak, less what was
allocated before the simulator started, divided by the subscriptions the run created.

    python benchmarks/bench_simulator.py --resellers 10000 --months 12 --seed 7
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

from reseller_plans.testing import SimulationReport, Simulator

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
    report = simulator.run()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return report, peak - base, current - base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resellers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts")
    args = parser.parse_args()

    def simulator() -> Simulator:
        return Simulator(seed=args.seed, resellers=args.resellers, months=args.months)

    runs = [timed(simulator()) for _ in range(args.repeats)]
    report, wall, cpu = min(runs, key=lambda run: run[1])
    assert all(r == report for r, _, _ in runs), "the same seed must replay the same report"
    traced_report, peak, retained = traced(simulator())
    assert traced_report == report

    subs = report.subscriptions
    per_sub_peak, per_sub_retained = peak / subs, retained / subs
    print(
        f"Simulator: {args.resellers:,} resellers x {args.months} months, seed {args.seed}: "
        f"{report.steps:,} commands, {subs:,} subscriptions, "
        f"{report.events.get('Renewed', 0):,} renewals, {report.emails_sent:,} emails, "
        f"{sum(report.faults_injected.values()):,} faults, {report.restarts} restarts, "
        f"{len(report.violations)} invariant violations"
    )
    print(
        f"  time: {wall:.2f} s wall (best of {args.repeats}: "
        f"{', '.join(f'{w:.2f}' for _, w, _ in runs)}), {cpu:.2f} s CPU   "
        f"bar <= {TIME_BAR_S:.0f} s: {'PASS' if wall <= TIME_BAR_S else 'FAIL'}"
    )
    print(
        f"  memory: peak {peak / 2**20:.1f} MiB traced, {per_sub_peak:,.0f} B per subscription "
        f"(retained at the end {per_sub_retained:,.0f} B)   bar <= {MEMORY_BAR_BYTES:,} B: "
        f"{'PASS' if per_sub_peak <= MEMORY_BAR_BYTES else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
