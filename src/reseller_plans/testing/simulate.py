"""``python -m reseller_plans.testing.simulate``: run a ``Simulator`` and print its report.

    python -m reseller_plans.testing.simulate --resellers 10000 --months 12 --seed 7

Exits with status 1 when the simulation found an invariant violation.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from reseller_plans.testing.simulator import Simulator

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reseller_plans.testing.simulate",
        description="Simulate reseller-plan lifecycles in memory and print the report.",
    )
    parser.add_argument("--resellers", type=int, default=1_000, help="population (1000)")
    parser.add_argument("--months", type=int, default=12, help="simulated months (12)")
    parser.add_argument("--seed", type=int, default=0, help="the seed that replays a run (0)")
    parser.add_argument("--distributors", type=int, default=None, help="eligible distributors")
    parser.add_argument(
        "--ineligible-share", type=float, default=0.1, help="share of ineligible resellers (0.1)"
    )
    parser.add_argument(
        "--activity", type=float, default=0.006, help="share of resellers acting per day (0.006)"
    )
    parser.add_argument("--fault-rate", type=float, default=0.03, help="chance of a fault (0.03)")
    parser.add_argument("--crash-rate", type=float, default=0.003, help="chance of a crash")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes, each simulating its share (1)"
    )
    parser.add_argument("--no-faults", action="store_true", help="inject no backend faults")
    parser.add_argument("--no-crashes", action="store_true", help="inject no crashes")
    parser.add_argument(
        "--log-level",
        default="CRITICAL",
        help="level of the library's log records shown on stderr (CRITICAL: the injected "
        "failures are expected, so they are not shown)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    simulator = Simulator(
        seed=args.seed,
        resellers=args.resellers,
        months=args.months,
        distributors=args.distributors,
        ineligible_share=args.ineligible_share,
        activity=args.activity,
        faults=not args.no_faults,
        fault_rate=args.fault_rate,
        crashes=not args.no_crashes,
        crash_rate=args.crash_rate,
        workers=args.workers,
    )
    started, cpu = time.perf_counter(), time.process_time()
    report = simulator.run()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(report)
    print(f"Simulated in {elapsed:.2f} s of wall time ({cpu:.2f} s of CPU).")
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover - exercised through main() in the tests
    sys.exit(main())
