"""The command line as a user runs it: the console script in a subprocess, against the emulator
served on loopback in this process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from reseller_plans.testing.emulator import EmulatorServer

SCRIPT = str(Path(sys.executable).parent / "reseller-plans")

Invoke = Callable[..., tuple[int, str, str]]
"""Runs ``reseller-plans`` with these arguments: (exit status, stdout, stderr)."""

SECRETS = {
    "RESELLER_PLANS_CLIENT_SECRET": "demo-client-secret",
    "RESELLER_PLANS_PASSWORD": "demo-password",
    "RESELLER_PLANS_STOREFRONT_API_KEY": "demo-storefront-api-key",
}


def environment(server: EmulatorServer, store: Path) -> dict[str, str]:
    """The settings that point the command line at ``server``, keeping state in ``store``."""
    return {
        "RESELLER_PLANS_BSS_URL": server.url,
        "RESELLER_PLANS_CLIENT_ID": "demo-client-key",
        "RESELLER_PLANS_USERNAME": "api-user@disti.example",
        "RESELLER_PLANS_DISTRIBUTOR": "100",
        "RESELLER_PLANS_STORE": str(store),
        **SECRETS,
    }


def invoker(env: Mapping[str, str], cwd: Path) -> Invoke:
    """An ``Invoke`` running the console script with ``env`` added to this environment.

    ``env`` may map a name to ``""`` to leave that variable out.
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith("RESELLER_PLANS_")}

    def invoke(*args: str, extra: Mapping[str, str] | None = None) -> tuple[int, str, str]:
        merged = {**base, **env, **(extra or {}), "COLUMNS": "100"}
        merged = {k: v for k, v in merged.items() if v != ""}
        done = subprocess.run(  # noqa: S603 - our own console script
            [SCRIPT, *args], env=merged, cwd=cwd, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        return done.returncode, done.stdout, done.stderr

    return invoke
