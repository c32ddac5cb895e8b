"""``python -m reseller_plans.testing.emulator`` (or ``reseller-plans emulator``): serve the
emulator standalone on loopback.

On start it prints where it listens, the credentials it accepts, the distributor's id, and an
environment block to paste into a shell so that ``reseller-plans`` talks to it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

import attrs
import uvicorn

from reseller_plans.testing.emulator.app import STATE_PATH, Emulator
from reseller_plans.testing.emulator.faults import Faults, RateLimit
from reseller_plans.testing.emulator.state import EmulatorState

__all__ = ["EmulatorOptions", "banner", "main", "serve"]


@attrs.frozen
class EmulatorOptions:
    """How to serve the emulator standalone (the command line's options)."""

    host: str = "127.0.0.1"
    port: int = 8080
    fixture: str | None = None
    resellers: int = 0
    latency: float = 0.0
    error_rate: float = 0.0
    seed: int = 0
    rate_limit: int = 0


def banner(state: EmulatorState, url: str) -> str:
    """What the emulator prints on start: credentials, distributor id and an environment block.

    Args:
        state: the emulator's data.
        url: its base URL.

    Returns:
        The text, ending with a newline.
    """
    creds = state.credentials
    api_key = min(creds.api_keys) if creds.api_keys else ""
    distributor = str(state.organization.get("id", ""))
    env = {
        "RESELLER_PLANS_BSS_URL": url,
        "RESELLER_PLANS_CLIENT_ID": creds.client_key,
        "RESELLER_PLANS_CLIENT_SECRET": creds.client_secret,
        "RESELLER_PLANS_USERNAME": creds.username,
        "RESELLER_PLANS_PASSWORD": creds.password,
        "RESELLER_PLANS_STOREFRONT_API_KEY": api_key,
        "RESELLER_PLANS_DISTRIBUTOR": distributor,
    }
    lines = [
        f"The BSS and Storefront emulator listens on {url}",
        f"  distributor        {distributor} ({state.organization.get('name', '')})",
        f"  client key         {creds.client_key}",
        f"  client secret      {creds.client_secret}",
        f"  user               {creds.username}",
        f"  password           {creds.password}",
        f"  Storefront API key {api_key}",
        f"  its state          {url}{STATE_PATH}",
        "",
        "These are the emulator's own test credentials. Paste this into a shell:",
        "",
        *(f"export {name}={shlex.quote(value)}" for name, value in env.items()),
        "",
    ]
    return "\n".join(lines) + "\n"


def serve(options: EmulatorOptions) -> int:
    """Serve the emulator until interrupted, after printing :func:`banner` on standard output.

    Args:
        options: where to listen, what data, which faults.

    Returns:
        The exit status.
    """
    state = (
        EmulatorState.from_json(options.fixture)
        if options.fixture
        else EmulatorState.demo(extra_resellers=options.resellers)
    )
    faults = Faults(
        error_rate=options.error_rate,
        seed=options.seed,
        latency=options.latency,
        rate_limit=RateLimit(options.rate_limit) if options.rate_limit else None,
    )
    emulator = Emulator(state, faults)
    print(banner(state, f"http://{options.host}:{options.port}"), end="", flush=True)
    uvicorn.run(emulator.app, host=options.host, port=options.port, log_level="warning",
                lifespan="off", ws="none")  # fmt: skip
    return 0


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
    return serve(EmulatorOptions(**vars(parser.parse_args(argv))))


if __name__ == "__main__":
    sys.exit(main())
