"""``reseller-plans emulator``, ``serve`` and ``simulate`` as a user runs them: the console script
in a subprocess."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cli_world import SCRIPT, Invoke, environment, invoker
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator

PLATFORM = {
    "RESELLER_PLANS_PLATFORM_APPLICATION_ID": "00000000-0000-0000-0000-00000000a001",
    "RESELLER_PLANS_PLATFORM_API_KEY": "fake-platform-key",
}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo()) as running:
        yield running


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, **kw: object) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=5, **kw)  # type: ignore[arg-type]
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def console_script(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [SCRIPT, *args], env={**os.environ, **env}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_emulator_help_lists_its_options(tmp_path: Path) -> None:
    _, out, _ = invoker({}, tmp_path)("emulator", "--help")
    for option in ("--host", "--port", "--fixture", "--resellers", "--latency", "--error-rate",
                   "--seed", "--rate-limit"):  # fmt: skip
        assert option in out


def test_the_emulator_prints_an_environment_block_that_works_and_shows_its_state(
    tmp_path: Path,
) -> None:
    port = free_port()
    with console_script("emulator", "--port", str(port), "--resellers", "2", env={}) as process:
        assert process.stdout is not None
        lines: list[str] = []
        while len(lines) < 3 or lines[-1].strip() or not lines[-2].startswith("export"):
            lines.append(process.stdout.readline())
        text = "".join(lines)
        assert "distributor        100" in text
        assert "demo-client-secret" in text
        env = dict(re.findall(r"^export (\w+)=(\S+)$", text, flags=re.MULTILINE))
        assert env["RESELLER_PLANS_BSS_URL"] == f"http://127.0.0.1:{port}"
        assert env["RESELLER_PLANS_DISTRIBUTOR"] == "100"

        run = invoker({**env, "RESELLER_PLANS_STORE": str(tmp_path / "s.db")}, tmp_path)
        code, _, err = run("--json", "upgrade", "10001", "--plan", "free", "--alias", "ten-one")
        assert code == 0, err
        state = wait_for(f"http://127.0.0.1:{port}/_emulator/state").json()
        (account,) = [a for a in state["accounts"] if str(a["id"]) == "10001"]
        assert account["resellerPlan"] == "Free"
        assert state["aliases"]["ten-one"] == "10001"
        assert state["calls"]["POST /api/orders"] == 1
        assert "demo-password" not in json.dumps(state)  # no credentials in the state


def test_serve_answers_the_platform_and_shows_an_access_log(
    server: EmulatorServer, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, **environment(server, tmp_path / "state.sqlite3"), **PLATFORM}
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [SCRIPT, "serve", "--port", str(port), "--access-log"], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/api/ResellerPlans/Fields/ServiceDefinition"
        key = base64.b64encode(b"fake-platform-key").decode()
        headers = {
            "X-CloudPlatform-ApplicationId": PLATFORM["RESELLER_PLANS_PLATFORM_APPLICATION_ID"],
            "X-CloudPlatform-APIKey": key,
        }
        answer = wait_for(url, headers=headers)
        assert answer.status_code == 200
        assert answer.json()["ProductTypes"][0]["ID"] == "ResellerPlans"
        stranger = httpx.get(url, headers={**headers, "X-CloudPlatform-APIKey": "bm9wZQ=="})
        assert stranger.status_code == 401
    finally:
        process.terminate()
        log, _ = process.communicate(timeout=30)
    assert '"GET /api/ResellerPlans/Fields/ServiceDefinition HTTP/1.1" 200' in log
    assert '"GET /api/ResellerPlans/Fields/ServiceDefinition HTTP/1.1" 401' in log


def test_serve_needs_the_platform_credentials(server: EmulatorServer, tmp_path: Path) -> None:
    code, _, err = invoker(environment(server, tmp_path / "s.db"), tmp_path)("serve")
    assert code == 2
    assert "RESELLER_PLANS_PLATFORM_API_KEY" in err
    assert "--platform" not in err  # no such flag: it is named only where it exists


def test_simulate_runs_the_harness_and_replays_with_a_seed(tmp_path: Path) -> None:
    run: Invoke = invoker({}, tmp_path)
    args = ("--json", "simulate", "--resellers", "40", "--months", "2", "--seed", "7")
    code, out, _ = run(*args)
    assert code == 0
    first = json.loads(out)
    assert first["ok"] is True
    assert first["resellers"] == 40
    assert first["violations"] == []
    again = json.loads(run(*args)[1])
    assert {**again, "seconds": 0} == {**first, "seconds": 0}
    code, out, _ = run("simulate", "--resellers", "20", "--months", "1")
    assert code == 0
    assert "Invariant violations: none" in out
