"""Storefront writes carry one idempotency key per logical write, over real sockets.

Against the emulator (which answers a write once per ``Idempotency-Key``): the caller's key is
sent on the first attempt, on every retry, and again when the caller repeats the whole write, so
a repeated step is answered from the Storefront's memory instead of acting a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from http_fakes import Sleeps, policy
from reseller_plans import Plan, StorefrontAlias
from reseller_plans.storefront import StorefrontClient
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator

ALIAS = StorefrontAlias.parse("techsolutions")
FRONT = "/api/storefront/resellers/{account_id}/storefront"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo()) as running:
        yield running


def _client(server: EmulatorServer) -> StorefrontClient:
    return StorefrontClient(
        server.url, api_key="demo-storefront-api-key", retry=policy(Sleeps(), max_attempts=3)
    )


def _calls(server: EmulatorServer, route: str) -> list[Any]:
    return [c for c in server.state.call_log if c.route == route]


WRITES: dict[str, Callable[..., object]] = {
    "activate": lambda c, key: c.activate_storefront(
        "3542", ALIAS, Plan.STANDARD, idempotency_key=key
    ),
    "suspend": lambda c, key: c.suspend_storefront("3542", idempotency_key=key),
    "resume": lambda c, key: c.resume_storefront("3542", idempotency_key=key),
    "deactivate": lambda c, key: c.deactivate_storefront("3542", idempotency_key=key),
}


def _prepare(client: StorefrontClient, action: str) -> None:
    client.hold_alias(ALIAS, account_id="3542")
    if action != "activate":
        client.activate_storefront("3542", ALIAS, Plan.STANDARD, idempotency_key="setup")


@pytest.mark.parametrize("action", sorted(WRITES))
def test_the_callers_key_is_sent_on_every_retry_and_a_repeat_is_replayed(
    server: EmulatorServer, action: str
) -> None:
    route = f"POST {FRONT}/{action}"
    with _client(server) as client:
        _prepare(client, action)
        server.emulator.fail_next(503, route=route, count=1)

        WRITES[action](client, "sub_0001/step-3")  # 503, then retried: done
        WRITES[action](client, "sub_0001/step-3")  # the service repeats the step

    calls = _calls(server, route)
    if action == "activate":
        calls = [c for c in calls if c.idempotency_key != "setup"]
    assert [c.idempotency_key for c in calls] == ["sub_0001/step-3"] * 3
    assert [c.status for c in calls] == [503, 200, 200]
    assert [c.replayed for c in calls] == [False, False, True]


def test_the_release_of_an_alias_sends_the_callers_key_and_is_replayed(
    server: EmulatorServer,
) -> None:
    route = "DELETE /api/storefront/aliases/{alias}"
    with _client(server) as client:
        client.hold_alias(ALIAS, account_id="3542")
        client.release_alias(ALIAS, account_id="3542", idempotency_key="sub_0001/undo-1")
        client.hold_alias(ALIAS, account_id="3542")
        # The step repeated with its key changes nothing: the alias stays held.
        client.release_alias(ALIAS, account_id="3542", idempotency_key="sub_0001/undo-1")

    calls = _calls(server, route)
    assert [c.idempotency_key for c in calls] == ["sub_0001/undo-1"] * 2
    assert [c.replayed for c in calls] == [False, True]
    assert server.state.aliases["techsolutions"] == "3542"


def test_without_a_key_each_call_is_a_write_of_its_own(server: EmulatorServer) -> None:
    route = f"POST {FRONT}/deactivate"
    with _client(server) as client:
        _prepare(client, "deactivate")
        client.deactivate_storefront("3542")
        client.deactivate_storefront("3542")

    calls = _calls(server, route)
    keys = [c.idempotency_key for c in calls]
    assert len(keys) == 2
    assert all(keys)
    assert keys[0] != keys[1]
    assert not any(c.replayed for c in calls)
