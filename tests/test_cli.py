"""The command line against the emulator on loopback: click's runner for each command, and the
console script in a subprocess for the resumable bulk run, killed midway and run again."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reseller_plans.cli import cli, main
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, Faults, serve_emulator

Invoke = Callable[..., tuple[int, str, str]]
"""Runs the command line with these arguments: (exit status, stdout, stderr)."""

SECRETS = {
    "RESELLER_PLANS_CLIENT_SECRET": "demo-client-secret",
    "RESELLER_PLANS_PASSWORD": "demo-password",
    "RESELLER_PLANS_STOREFRONT_API_KEY": "demo-storefront-api-key",
}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo(extra_resellers=30)) as running:
        yield running


def environment(server: EmulatorServer, store: Path) -> dict[str, str]:
    return {
        "RESELLER_PLANS_BSS_URL": server.url,
        "RESELLER_PLANS_CLIENT_ID": "demo-client-key",
        "RESELLER_PLANS_USERNAME": "api-user@disti.example",
        "RESELLER_PLANS_DISTRIBUTOR": "100",
        "RESELLER_PLANS_STORE": str(store),
        **SECRETS,
    }


@pytest.fixture
def run(server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    for name, value in environment(server, tmp_path / "state.sqlite3").items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def executed_orders(server: EmulatorServer) -> dict[str, int]:
    """Executed checkouts per account (idempotent replays not counted)."""
    counts: dict[str, int] = {}
    for order in server.state.orders.values():
        if str(order.get("status", "")).lower() != "draft":
            account = str(order.get("accountId"))
            counts[account] = counts.get(account, 0) + 1
    return counts


def test_check_lists_every_failure_and_exits_1_when_one_is_ineligible(run: Invoke) -> None:
    code, out, _ = run("check", "3542", "3545")
    assert code == 1
    assert "RESELLING_DISABLED" in out
    code, out, _ = run("--json", "check", "3542", "--alias", "techsolutions")
    assert code == 0
    assert json.loads(out)[0]["eligible"] is True


def test_one_upgrade_then_the_subscription_commands(run: Invoke, server: EmulatorServer) -> None:
    code, out, err = run(
        "--json", "upgrade", "3542", "--plan", "standard", "--alias", "techsolutions"
    )
    assert code == 0, err
    (row,) = json.loads(out)["rows"]
    assert row["outcome"] == "done"
    sub = row["subscription"]
    assert "Your Standard reseller plan" in err  # the console mailer prints to stderr

    code, out, _ = run("--json", "status", "3542")
    assert json.loads(out)["status"] == "active"
    assert run("--json", "suspend", sub, "--reason", "non-payment")[0] == 0
    code, out, _ = run("--json", "resume", sub)
    assert json.loads(out)["status"] == "active"
    code, out, _ = run("--json", "change-plan", sub, "--plan", "free")
    assert json.loads(out)["pending_change"]["plan"] == "free"
    assert run("withdraw", sub)[0] == 0
    code, out, _ = run("--json", "cancel", sub)
    assert json.loads(out)["status"] == "cancelled"
    code, out, _ = run("history", sub)
    assert "Activated" in out
    assert "RevertedToBasic" in out
    code, out, _ = run("--json", "run-due")
    assert code == 0
    assert "subscriptions" in json.loads(out)
    code, out, _ = run("status", "3542")
    assert "Basic (no subscription)" in out
    assert server.state.account("3542").get("resellerPlan") == "Basic"


def test_bulk_upgrade_reports_each_row_and_exits_1_when_some_fail(
    run: Invoke, tmp_path: Path
) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "account,plan,alias\n"
        "3542,standard,techsolutions\n"
        "10001,free,reseller-one\n"
        "3545,free,northwind\n"
        "10002,free,techsolutions\n"
    )
    # one at a time: the two rows that want "techsolutions" then race in the CSV's order
    code, out, _ = run("--json", "upgrade", "--from-csv", str(rows), "--concurrency", "1")
    assert code == 1
    report = json.loads(out)
    assert [r["outcome"] for r in report["rows"]] == ["done", "done", "ineligible", "failed"]
    assert report["rows"][2]["codes"] == "RESELLING_DISABLED"
    assert report["rows"][3]["codes"] == "ALIAS_TAKEN"

    code, out, _ = run("upgrade", "--from-csv", str(rows), "--csv")
    lines = out.strip().splitlines()
    assert lines[0].startswith("line,account,plan,alias,outcome")
    assert lines[1].split(",")[4] == "skipped"


def test_dry_run_writes_nothing(run: Invoke, server: EmulatorServer, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("account,plan,alias\n3542,standard,techsolutions\n3545,free,northwind\n")
    code, out, _ = run("--json", "upgrade", "--from-csv", str(rows), "--dry-run")
    assert code == 1
    assert [r["outcome"] for r in json.loads(out)["rows"]] == ["checked", "ineligible"]
    assert server.state.orders == {}
    assert server.state.calls_to("PATCH /api/accounts/{account_id}") == 0


def test_a_malformed_csv_is_refused_with_its_line_number(run: Invoke, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("account,plan,alias\n3542,standard,techsolutions\n3543,gold,x1y\n,free,abc\n")
    code, _, err = run("upgrade", "--from-csv", str(rows))
    assert code == 2
    assert "line 3" in err
    assert "gold" in err
    assert "line 4" in err
    rows.write_text("account,plan\n3542,free\n")
    code, _, err = run("upgrade", "--from-csv", str(rows))
    assert code == 2
    assert "alias" in err


def test_a_missing_secret_is_a_configuration_error(
    run: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RESELLER_PLANS_CLIENT_SECRET")
    code, _, err = run("check", "3542")
    assert code == 2
    assert "RESELLER_PLANS_CLIENT_SECRET" in err
    assert "demo-password" not in err


def test_an_unreachable_bss_is_reported_clearly(
    run: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESELLER_PLANS_BSS_URL", "http://127.0.0.1:9")
    code, _, err = run("check", "3542")
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in err


def test_usage_errors_exit_2(run: Invoke) -> None:
    assert run("upgrade")[0] == 2
    assert run("upgrade", "3542")[0] == 2
    assert run("check", "3542", "3543", "--alias", "abc")[0] == 2
    assert main(["--help"]) == 0


def test_settings_come_from_a_toml_file(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "settings.toml"
    config.write_text(f'[bss]\nclient_secret = "{SECRETS["RESELLER_PLANS_CLIENT_SECRET"]}"\n')
    monkeypatch.delenv("RESELLER_PLANS_CLIENT_SECRET")
    assert run("--config", str(config), "check", "3542")[0] == 0
    config.write_text("[bss]\nnope = 1\n")
    code, _, err = run("--config", str(config), "check", "3542")
    assert code == 2
    assert "unknown setting" in err


def test_an_interrupted_bulk_run_finishes_when_run_again(tmp_path: Path) -> None:
    with serve_emulator(EmulatorState.demo(extra_resellers=30), Faults(latency=0.02)) as server:
        rows = tmp_path / "rows.csv"
        rows.write_text(
            "account,plan,alias\n" + "".join(f"{10001 + n},free,reseller{n}\n" for n in range(24))
        )
        env = {**os.environ, **environment(server, tmp_path / "state.sqlite3")}
        script = Path(sys.executable).parent / "reseller-plans"
        command = [str(script), "--json", "upgrade", "--from-csv", str(rows), "--concurrency", "2"]
        first = subprocess.Popen(  # noqa: S603 - our own console script
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while sum(executed_orders(server).values()) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # the process dies mid-run
        first.communicate()
        done_before = sum(executed_orders(server).values())
        assert 4 <= done_before < 24

        second = subprocess.run(  # noqa: S603
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert second.returncode == 0, second.stderr
        outcomes = [r["outcome"] for r in json.loads(second.stdout)["rows"]]
        assert set(outcomes) <= {"done", "skipped"}
        assert outcomes.count("skipped") >= 1
        orders = executed_orders(server)
        assert len(orders) == 24
        assert set(orders.values()) == {1}  # no account ordered twice


def test_serve_answers_the_platform_and_refuses_strangers(
    server: EmulatorServer, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        **environment(server, tmp_path / "state.sqlite3"),
        "RESELLER_PLANS_PLATFORM_APPLICATION_ID": "00000000-0000-0000-0000-00000000a001",
        "RESELLER_PLANS_PLATFORM_API_KEY": "fake-platform-key",
    }
    script = Path(sys.executable).parent / "reseller-plans"
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(script), "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/api/ResellerPlans/Fields/ServiceDefinition"
        key = base64.b64encode(b"fake-platform-key").decode()
        headers = {
            "X-CloudPlatform-ApplicationId": "00000000-0000-0000-0000-00000000a001",
            "X-CloudPlatform-APIKey": key,
        }
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(url, headers=headers, timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert answer.status_code == 200
        assert answer.json()["ProductTypes"][0]["ID"] == "ResellerPlans"
        stranger = httpx.get(url, headers={**headers, "X-CloudPlatform-APIKey": "bm9wZQ=="})
        assert stranger.status_code == 401
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_serve_needs_the_platform_credentials(run: Invoke) -> None:
    code, _, err = run("serve")
    assert code == 2
    assert "RESELLER_PLANS_PLATFORM_API_KEY" in err
