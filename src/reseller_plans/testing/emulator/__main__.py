"""``python -m reseller_plans.testing.emulator``: serve the emulator standalone on loopback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from reseller_plans.testing.emulator.app import Emulator
from reseller_plans.testing.emulator.faults import Faults, RateLimit
from reseller_plans.testing.emulator.state import EmulatorState


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and serve until interrupted.

    Args:
        argv: the arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m reseller_plans.testing.emulator",
        description="Serve the BSS and Storefront emulator on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--fixture", help="a JSON fixture (default: the shipped demo)")
    parser.add_argument("--resellers", type=int, default=0, help="extra demo resellers to add")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per call")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of random 503s")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random errors")
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per second (0: off)")
    args = parser.parse_args(argv)
    state = (
        EmulatorState.from_json(args.fixture)
        if args.fixture
        else EmulatorState.demo(extra_resellers=args.resellers)
    )
    faults = Faults(
        error_rate=args.error_rate,
        seed=args.seed,
        latency=args.latency,
        rate_limit=RateLimit(args.rate_limit) if args.rate_limit else None,
    )
    emulator = Emulator(state, faults)
    print(f"emulator on http://{args.host}:{args.port}", file=sys.stderr)
    uvicorn.run(emulator.app, host=args.host, port=args.port, log_level="warning",
                lifespan="off", ws="none")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
