"""``ResellerPlans.from_config()`` and ``from_env()``: wired to real adapters over real sockets,
and ``close()`` closes everything they opened."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from reseller_plans import Actor, InvalidInput, Plan, ResellerPlans
from reseller_plans.config import ConfigError
from reseller_plans.testing.emulator import EmulatorState
from reseller_plans.testing.emulator.server import EmulatorServer, serve_emulator


@pytest.fixture
def emulator() -> Iterator[tuple[EmulatorServer, EmulatorState]]:
    state = EmulatorState.demo()
    with serve_emulator(state) as server:
        yield server, state


def _toml(server: EmulatorServer, state: EmulatorState, store: Path) -> str:
    creds = state.credentials
    return f"""
distributor = "{state.organization["id"]}"
store = "{store}"

[bss]
url = "{server.url}"
client_id = "{creds.client_key}"
client_secret = "{creds.client_secret}"
username = "{creds.username}"
password = "wrong-in-the-file"

[storefront]
api_key = "{min(creds.api_keys)}"
"""


def test_from_config_reads_the_file_lets_the_environment_win_and_closes_all_it_opened(
    emulator: tuple[EmulatorServer, EmulatorState], tmp_path: Path
) -> None:
    server, state = emulator
    path = tmp_path / "reseller-plans.toml"
    path.write_text(_toml(server, state, tmp_path / "plans.db"), encoding="utf-8")
    environ = {"RESELLER_PLANS_PASSWORD": state.credentials.password}  # the right one wins
    distributor = str(state.organization["id"])

    with ResellerPlans.from_config(path, environ=environ) as plans:
        account = next(iter(state.accounts))
        report = plans.check(str(account), Plan.FREE, actor=Actor.distributor(distributor))
        assert report.account_id == str(account)  # read from the emulator over HTTP
        assert (tmp_path / "plans.db").exists()

    assert plans.bss.closed  # type: ignore[attr-defined]
    assert plans.storefront.closed  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="closed"):
        plans.plan_of("3542")  # a closed ResellerPlans says so
    with pytest.raises(sqlite3.ProgrammingError):
        plans.store.unit_of_work().__enter__()  # and its SQLite connection is closed


def _environment(server: EmulatorServer, state: EmulatorState, tmp_path: Path) -> dict[str, str]:
    """Every setting the emulator needs, as environment variables."""
    creds = state.credentials
    return {
        "RESELLER_PLANS_BSS_URL": server.url,
        "RESELLER_PLANS_CLIENT_ID": creds.client_key,
        "RESELLER_PLANS_CLIENT_SECRET": creds.client_secret,
        "RESELLER_PLANS_USERNAME": creds.username,
        "RESELLER_PLANS_PASSWORD": creds.password,
        "RESELLER_PLANS_STOREFRONT_API_KEY": min(creds.api_keys),
        "RESELLER_PLANS_STORE": str(tmp_path / "env.db"),
    }


def test_from_env_wires_from_the_environment_alone(
    emulator: tuple[EmulatorServer, EmulatorState], tmp_path: Path
) -> None:
    server, state = emulator
    plans = ResellerPlans.from_env(_environment(server, state, tmp_path))
    try:
        distributor = plans.bss.get_distributor(str(state.organization["id"]))
        assert distributor.id == str(state.organization["id"])
    finally:
        plans.close()
    assert plans.bss.closed  # type: ignore[attr-defined]
    plans.close()  # a second close is harmless


@pytest.mark.parametrize(("step_deadline", "adapter_deadline"), [("120", 45.0), ("10", 10.0)])
def test_the_adapters_calls_never_outlast_a_step(
    emulator: tuple[EmulatorServer, EmulatorState],
    tmp_path: Path,
    step_deadline: str,
    adapter_deadline: float,
) -> None:
    server, state = emulator
    environ = _environment(server, state, tmp_path) | {
        "RESELLER_PLANS_STEP_DEADLINE_SECONDS": step_deadline,
        "RESELLER_PLANS_LEASE_SECONDS": "300",
    }
    with ResellerPlans.from_env(environ) as plans:
        # one knob: the adapters' own deadline (45 s) unless a step may take less
        assert plans.bss.deadline == adapter_deadline  # type: ignore[attr-defined]
        assert plans.storefront.deadline == adapter_deadline  # type: ignore[attr-defined]


def test_from_env_names_every_missing_setting() -> None:
    with pytest.raises(ConfigError, match=r"missing settings: bss_url .*RESELLER_PLANS_BSS_URL"):
        ResellerPlans.from_env({})


def test_from_config_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        ResellerPlans.from_config(tmp_path / "nope.toml", environ={})
