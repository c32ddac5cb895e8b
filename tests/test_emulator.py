"""The emulator over real loopback sockets, and the adapters against it end to end."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from http_fakes import Sleeps, policy
from reseller_plans import (
    AliasTaken,
    Edition,
    NotFound,
    PermanentBackendError,
    Plan,
    StorefrontAlias,
)
from reseller_plans.bss import BSSClient, BSSWireConfig
from reseller_plans.domain.errors import TransientBackendError
from reseller_plans.http import AuthenticationFailed, BackendForbidden, MalformedResponse
from reseller_plans.ports import StorefrontStatus
from reseller_plans.storefront import StorefrontClient
from reseller_plans.testing.emulator import (
    EmulatorServer,
    EmulatorState,
    Faults,
    RateLimit,
    create_app,
    demo_fixture,
    serve_emulator,
)
from reseller_plans.testing.emulator.__main__ import main
from reseller_plans.testing.emulator.faults import FaultInjector


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo()) as running:
        yield running


def bss_for(server: EmulatorServer, **kwargs: Any) -> BSSClient:
    creds = server.state.credentials
    kwargs.setdefault("retry", policy(Sleeps()))
    return BSSClient(server.url, client_key=creds.client_key, client_secret=creds.client_secret,
                     username=creds.username, password=creds.password, **kwargs)  # fmt: skip


def storefront_for(server: EmulatorServer, **kwargs: Any) -> StorefrontClient:
    kwargs.setdefault("retry", policy(Sleeps()))
    kwargs.setdefault("api_key", "demo-storefront-api-key")
    return StorefrontClient(server.url, **kwargs)


def bss_headers(server: EmulatorServer, client: httpx.Client) -> dict[str, str]:
    creds = server.state.credentials
    token = client.post(
        f"{server.url}/oauth/token",
        auth=(creds.client_key, creds.client_secret),
        data={"grant_type": "password", "username": creds.username, "password": creds.password},
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "X-Api-Version": "3.0"}


# -- end to end ---------------------------------------------------------------------------------


def test_full_flow_over_real_sockets(server: EmulatorServer) -> None:
    state = server.state
    alias = StorefrontAlias.parse("techsolutions")
    with bss_for(server, wire=BSSWireConfig(page_size=2)) as bss, storefront_for(server) as shop:
        profile = bss.get_distributor("100")
        assert profile.edition is Edition.DIAMOND_WITH_DISTRIBUTION_RIGHTS
        assert profile.active_addons == frozenset({"standard_edition_resellers"})
        assert profile.plan_products == {Plan.FREE: "P-1002", Plan.STANDARD: "P-1004"}
        assert profile.storefront_host == "cloud.disti.example"

        account = bss.get_account("3542")
        assert (account.plan, account.reselling_enabled, account.distributor_id) == (
            Plan.BASIC, True, "100")  # fmt: skip

        resellers = [a.id for a in bss.list_resellers("100")]
        assert resellers == ["3542", "3543", "3544", "3546"]
        assert state.calls_to("GET /api/accounts") == 2  # two pages of two

        assert shop.is_alias_free(alias, account_id="3542")
        shop.hold_alias(alias, account_id="3542")
        order = bss.place_plan_order(
            account_id="3542", product_id=profile.plan_products[Plan.STANDARD], alias=alias,
            billing_cycle="monthly", idempotency_key="upgrade-3542",
        )  # fmt: skip
        assert order.platform_subscription_id in state.subscriptions
        assert state.orders[order.order_id]["status"] == "Executed"

        bss.provision_license("3542", Plan.STANDARD, idempotency_key="lic-3542")
        assert bss.get_account("3542").plan is Plan.STANDARD
        assert bss.licensed_plan("3542") is Plan.STANDARD

        assert shop.storefront_status("3542") is StorefrontStatus.NONE  # none yet: a 404
        url = shop.activate_storefront("3542", alias, Plan.STANDARD)
        assert shop.storefront_status("3542") is StorefrontStatus.LIVE
        assert url == "https://cloud.disti.example/techsolutions"
        assert not shop.is_alias_free(alias, account_id="3543")
        with pytest.raises(AliasTaken):
            shop.hold_alias(alias, account_id="3543")

        shop.suspend_storefront("3542")
        assert shop.storefront_status("3542") is StorefrontStatus.SUSPENDED
        shop.resume_storefront("3542")
        shop.deactivate_storefront("3542")
        assert state.storefronts["3542"]["status"] == "Inactive"
        assert shop.storefront_status("3542") is StorefrontStatus.NONE
        shop.release_alias(alias, account_id="3542")
        assert "techsolutions" not in state.aliases

        bss.cancel_subscription(order.platform_subscription_id or "", idempotency_key="c-1")
        bss.revoke_license("3542", idempotency_key="rev-3542")
        assert state.subscriptions[order.platform_subscription_id or ""]["status"] == "Cancelled"
        assert bss.get_account("3542").plan is Plan.BASIC
        assert bss.licensed_plan("3542") is Plan.BASIC
        assert bss.token_fetches == 1


def test_reseller_purchase_in_the_storefront(server: EmulatorServer) -> None:
    with storefront_for(server) as shop:
        order = shop.purchase_plan(
            account_id="3546", product_id="P-1004", alias=StorefrontAlias.parse("contoso"),
            billing_cycle="annual", idempotency_key="buy-1",
        )  # fmt: skip
    subscription = server.state.subscriptions[order.platform_subscription_id or ""]
    assert subscription["billingCycle"] == "Annually"
    assert server.state.orders[order.order_id]["channel"] == "storefront"
    assert server.state.aliases["contoso"] == "3546"


def test_subscription_lifecycle_actions_repeat_harmlessly(server: EmulatorServer) -> None:
    with bss_for(server) as bss:
        order = bss.place_plan_order(account_id="3543", product_id="P-1002", alias=None,
                                     billing_cycle="monthly", idempotency_key="o")  # fmt: skip
        sub = order.platform_subscription_id or ""
        bss.suspend_subscription(sub, idempotency_key="s1")
        bss.suspend_subscription(sub, idempotency_key="s2")
        assert bss.get_subscription(sub).status == "Suspended"
        bss.resume_subscription(sub, idempotency_key="r1")
        bss.cancel_subscription(sub, idempotency_key="c1")
        bss.cancel_subscription(sub, idempotency_key="c2")
        with pytest.raises(PermanentBackendError, match="Cancelled: cannot suspend"):
            bss.suspend_subscription(sub, idempotency_key="s3")
        with pytest.raises(NotFound):
            bss.cancel_subscription("nope", idempotency_key="c3")


# -- idempotency and retries --------------------------------------------------------------------


def test_the_same_key_places_one_order(server: EmulatorServer) -> None:
    with bss_for(server) as bss:
        first = bss.place_plan_order(account_id="3542", product_id="P-1004", alias=None,
                                     billing_cycle="monthly", idempotency_key="same")  # fmt: skip
        again = bss.place_plan_order(account_id="3542", product_id="P-1004", alias=None,
                                     billing_cycle="monthly", idempotency_key="same")  # fmt: skip
        other = bss.place_plan_order(account_id="3542", product_id="P-1004", alias=None,
                                     billing_cycle="monthly", idempotency_key="other")  # fmt: skip
    assert first == again
    assert other != first
    assert len(server.state.orders) == 2
    assert len(server.state.subscriptions) == 2
    replays = [c for c in server.state.call_log if c.replayed]
    assert len(replays) == 3


def test_a_key_reused_for_another_request_is_refused(server: EmulatorServer) -> None:
    with httpx.Client() as client:
        headers = {**bss_headers(server, client), "Idempotency-Key": "k"}
        created = client.post(f"{server.url}/api/orders", json={"accountId": 3542},
                              headers=headers)  # fmt: skip
        clash = client.post(f"{server.url}/api/orders", json={"accountId": 3543}, headers=headers)
    assert created.status_code == 201
    assert clash.status_code == 422
    assert "another request" in clash.json()["message"]


def test_retries_over_sockets_reuse_the_key_and_create_nothing_twice(
    server: EmulatorServer,
) -> None:
    route = "POST /api/orders/{order_id}/checkout"
    server.emulator.fail_next(503, route=route, count=2)
    sleeps = Sleeps()
    with bss_for(server, retry=policy(sleeps)) as bss:
        order = bss.place_plan_order(account_id="3542", product_id="P-1004", alias=None,
                                     billing_cycle="monthly", idempotency_key="r")  # fmt: skip
    checkouts = [c for c in server.state.call_log if c.route == route]
    assert [c.status for c in checkouts] == [503, 503, 200]
    assert {c.idempotency_key for c in checkouts} == {"r/checkout"}
    assert len(server.state.subscriptions) == 1
    assert order.platform_subscription_id in server.state.subscriptions
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", [429, 403])
def test_rate_limiting_answers_with_retry_after(status: int) -> None:
    faults = Faults(rate_limit=RateLimit(limit=2, window=3600, status=status, retry_after=1),
                    routes={"GET /api/accounts/{account_id}"})  # fmt: skip
    sleeps = Sleeps()
    with serve_emulator(EmulatorState.demo(), faults) as server, bss_for(
        server, retry=policy(sleeps)
    ) as bss:  # fmt: skip
        bss.get_account("3542")
        bss.get_account("3542")
        with pytest.raises(TransientBackendError) as caught:
            bss.get_account("3542")
    assert caught.value.status == status
    assert caught.value.retry_after == 1.0
    assert sleeps == [1.0, 1.0]
    assert server.state.calls_to("GET /api/accounts/{account_id}") == 5


def test_random_faults_are_reproducible_by_seed() -> None:
    def statuses(seed: int) -> list[int | None]:
        injector = FaultInjector(Faults(error_rate=0.5, seed=seed))
        return [getattr(injector.decide("GET /x"), "status", None) for _ in range(20)]

    assert statuses(7) == statuses(7)
    assert statuses(7) != statuses(8)
    assert set(statuses(7)) == {None, 503}


def test_random_faults_over_sockets_are_retried_to_success() -> None:
    faults = Faults(error_rate=0.3, seed=3, routes={"GET /api/accounts/{account_id}"})
    with serve_emulator(EmulatorState.demo(), faults) as server, bss_for(
        server, retry=policy(Sleeps(), max_attempts=10)
    ) as bss:  # fmt: skip
        for _ in range(10):
            assert bss.get_account("3542").id == "3542"
    calls = [c.status for c in server.state.call_log if c.route.startswith("GET /api/accounts/")]
    assert 503 in calls
    assert calls.count(200) == 10


def test_latency_is_added_to_every_call() -> None:
    with serve_emulator(EmulatorState.demo(), Faults(latency=0.05)) as server, httpx.Client() as c:
        started = time.perf_counter()
        c.get(f"{server.url}/api/storefront/aliases/apex")
        assert time.perf_counter() - started >= 0.05


# -- authentication and protocol ----------------------------------------------------------------


def test_the_token_endpoint_checks_basic_auth_and_the_password_grant(
    server: EmulatorServer,
) -> None:
    creds = server.state.credentials
    grant = {"grant_type": "password", "username": creds.username, "password": creds.password}
    url = f"{server.url}/oauth/token"
    with httpx.Client() as c:
        assert c.post(url, auth=(creds.client_key, creds.client_secret), data=grant).is_success
        assert c.post(url, auth=(creds.client_key, "wrong"), data=grant).status_code == 401
        in_form = {**grant, "client_id": creds.client_key, "client_secret": creds.client_secret}
        refused = c.post(url, data=in_form)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_request"
        bad_user = c.post(url, auth=(creds.client_key, creds.client_secret),
                          data={**grant, "password": "nope"})  # fmt: skip
        assert bad_user.json()["error"] == "invalid_grant"
        other_grant = c.post(url, auth=(creds.client_key, creds.client_secret),
                             data={**grant, "grant_type": "client_credentials"})  # fmt: skip
        assert other_grant.json()["error"] == "unsupported_grant_type"
        garbage = c.post(url, headers={"Authorization": "Basic !!!"}, data=grant)
        assert garbage.status_code == 401


def test_bss_routes_need_a_bearer_and_the_api_version(server: EmulatorServer) -> None:
    with httpx.Client() as c:
        headers = bss_headers(server, c)
        url = f"{server.url}/api/accounts/3542"
        assert c.get(url, headers=headers).is_success
        missing = c.get(url, headers={"Authorization": headers["Authorization"]})
        assert missing.status_code == 400
        assert "X-Api-Version" in missing.json()["message"]
        assert c.get(url, headers={"X-Api-Version": "3.0"}).status_code == 401
        assert c.get(url, headers={**headers, "Authorization": "Bearer nope"}).status_code == 401


def test_expired_tokens_are_refreshed_transparently(server: EmulatorServer) -> None:
    with bss_for(server) as bss:
        bss.get_account("3542")
        server.state.expire_tokens()
        bss.get_account("3542")
        assert bss.token_fetches == 2


def test_wrong_credentials_are_authentication_failed(server: EmulatorServer) -> None:
    bss = BSSClient(server.url, client_key="k", client_secret="s", username="u", password="p")
    with bss, pytest.raises(AuthenticationFailed):
        bss.get_account("3542")
    with storefront_for(server, api_key="wrong") as shop, pytest.raises(AuthenticationFailed):
        shop.is_alias_free(StorefrontAlias.parse("apex"), account_id="1")


def test_unknown_routes_and_bad_bodies_answer_json_messages(server: EmulatorServer) -> None:
    with httpx.Client() as c:
        headers = bss_headers(server, c)
        unknown = c.get(f"{server.url}/api/nothing", headers=headers)
        assert unknown.status_code == 404
        assert "message" in unknown.json()
        bad = c.post(f"{server.url}/api/orders", content=b"{nope", headers=headers)
        assert bad.status_code == 400
        assert bad.json() == {"message": "The request body is not valid JSON."}
        assert bad.headers["X-Request-Id"].startswith("emu-")


def test_a_free_plan_api_user_refusal_reaches_the_caller(server: EmulatorServer) -> None:
    server.emulator.fail_next(403, route="POST /api/orders",
                              body={"message": "Forbidden for this API user"})  # fmt: skip
    bss = bss_for(server, api_user_plan=Plan.FREE)
    with bss, pytest.raises(BackendForbidden, match="plan of this API user"):
        bss.place_plan_order(account_id="3542", product_id="P-1002", alias=None,
                             billing_cycle="monthly", idempotency_key="f")  # fmt: skip


# -- state: filters, paging, patches ------------------------------------------------------------


def test_filters_and_paging_envelope(server: EmulatorServer) -> None:
    with httpx.Client() as c:
        headers = bss_headers(server, c)
        page = c.get(
            f"{server.url}/api/accounts",
            params={"$filter": "billToAccountId eq 100 and resellingEnabled eq true",
                    "pageIndex": 1, "pageSize": 3},
            headers=headers,
        ).json()  # fmt: skip
        assert [a["id"] for a in page["data"]] == [3542, 3543, 3544]
        assert page["paging"] == {"pageIndex": 1, "pageSize": 3, "totalRecords": 4,
                                  "totalPages": 2}  # fmt: skip
        assert page["data"][0]["billToAccount"] == {"id": 100, "name": "Disti Cloud Ltd"}
        last = c.get(page["links"]["next"], headers=headers).json()
        assert [a["id"] for a in last["data"]] == [3546]
        assert last["links"]["next"] is None
        named = c.get(f"{server.url}/api/accounts", headers=headers,
                      params={"$filter": "name eq 'Apex Partners'"}).json()  # fmt: skip
        assert [a["id"] for a in named["data"]] == [3544]
        for bad in ("name gt 3", "and", "resellingEnabled eq true and"):
            answer = c.get(f"{server.url}/api/accounts", headers=headers, params={"$filter": bad})
            assert answer.status_code == 400
        for params in ({"pageIndex": 0}, {"pageSize": 5000}, {"pageIndex": "x"}):
            answer = c.get(f"{server.url}/api/products", headers=headers, params=params)
            assert answer.status_code == 400


def test_json_patch_on_accounts(server: EmulatorServer) -> None:
    url = f"{server.url}/api/accounts/3542"
    with httpx.Client() as c:
        headers = bss_headers(server, c)
        patched = c.patch(url, headers=headers, json=[
            {"op": "replace", "path": "/resellerPlan", "value": "Free"},
            {"op": "remove", "path": "/email"},
        ])  # fmt: skip
        assert patched.json()["resellerPlan"] == "Free"
        assert "email" not in server.state.accounts["3542"]
        for bad in (
            [],
            [{"op": "replace", "path": "/id", "value": 1}],
            [{"op": "move", "path": "/a"}],
            [{"op": "add", "path": "/a"}],
            [{"x": 1}],
        ):
            assert c.patch(url, headers=headers, json=bad).status_code == 400  # fmt: skip
        assert c.patch(f"{server.url}/api/accounts/1", headers=headers,
                       json=[{"op": "remove", "path": "/a"}]).status_code == 404  # fmt: skip


def test_orders_are_checked_step_by_step(server: EmulatorServer) -> None:
    with httpx.Client() as c:
        h = bss_headers(server, c)
        base = f"{server.url}/api/orders"
        assert c.post(base, headers=h, json={}).status_code == 400
        assert c.post(base, headers=h, json={"accountId": 1}).status_code == 404
        order = c.post(base, headers=h, json={"accountId": 3542}).json()
        assert order["status"] == "Draft"
        items = f"{base}/{order['id']}/items"
        assert c.post(f"{base}/{order['id']}/checkout", headers=h).status_code == 400
        assert c.post(items, headers=h, json={"productId": "nope"}).status_code == 404
        assert c.post(items, headers=h, json={}).status_code == 400
        assert (
            c.post(items, headers=h, json={"productId": "P-1002", "quantity": 0}).status_code == 400
        )
        assert (
            c.post(items, headers=h, json={"productId": "P-1002", "attributes": "x"}).status_code
            == 400
        )
        taken = [{"name": "StorefrontAlias", "value": "apex"}]
        assert c.post(
            items, headers=h, json={"productId": "P-1004", "attributes": taken}
        ).is_success
        assert c.post(f"{base}/{order['id']}/checkout", headers=h).status_code == 409
        assert c.get(f"{base}/{order['id']}", headers=h).json()["status"] == "Draft"
        assert c.get(f"{base}/O-999", headers=h).status_code == 404
        assert c.post(f"{base}/O-999/items", headers=h, json={}).status_code == 404


def test_storefront_state_rules(server: EmulatorServer) -> None:
    state = server.state
    with httpx.Client(headers={"X-ApiKey": "demo-storefront-api-key"}) as c:
        front = f"{server.url}/api/storefront/resellers"
        assert c.post(f"{front}/3543/storefront/suspend").status_code == 404
        assert c.post(f"{front}/3543/storefront/deactivate").is_success
        assert c.post(f"{front}/3543/storefront/activate", json={}).status_code == 400
        assert (
            c.post(f"{front}/3543/storefront/activate", json={"alias": "apex"}).status_code == 409
        )
        assert c.post(f"{front}/3544/storefront/deactivate").is_success
        assert c.post(f"{front}/3544/storefront/resume").status_code == 400
        alias = f"{server.url}/api/storefront/aliases"
        assert c.put(f"{alias}/fresh", json={}).status_code == 400
        assert c.put(f"{alias}/fresh", json={"accountId": 3543}).status_code == 201
        assert c.put(f"{alias}/fresh", json={"accountId": 3543}).status_code == 200
        assert c.delete(f"{alias}/fresh", params={"accountId": 1}).status_code == 409
        assert c.delete(f"{alias}/fresh").status_code == 409
        assert c.delete(f"{alias}/fresh", params={"accountId": 3543}).status_code == 204
        assert c.delete(f"{alias}/fresh", params={"accountId": 3543}).status_code == 404
    assert state.storefronts["3544"]["status"] == "Inactive"


# -- connections, fixtures, runner --------------------------------------------------------------


def test_no_connection_is_left_open_after_a_failing_sequence(server: EmulatorServer) -> None:
    server.emulator.fail_next(503, count=3)
    bss = bss_for(server, retry=policy(Sleeps(), max_attempts=2))
    with pytest.raises(TransientBackendError):
        bss.get_account("3542")
    with pytest.raises(NotFound):
        bss.get_account("999999")
    server.emulator.fail_next(200, body="not json", route="GET /api/accounts/{account_id}")
    with pytest.raises(MalformedResponse):
        bss.get_account("3542")
    pool = bss.backend._client._transport._pool  # type: ignore[attr-defined]
    assert all(connection.is_idle() for connection in pool.connections)
    bss.close()
    assert bss.closed
    assert pool.connections == []


def test_from_json_reads_a_file_and_a_dict(tmp_path: Path) -> None:
    fixture = demo_fixture()
    fixture["tokenLifetime"] = 5
    path = tmp_path / "f.json"
    path.write_text(json.dumps(fixture))
    state = EmulatorState.from_json(path)
    assert state.token_lifetime == 5
    assert state.accounts["3544"]["storefrontAlias"] == "apex"
    assert EmulatorState.from_json(fixture).credentials.client_key == "demo-client-key"
    assert "demo-password" not in repr(state.credentials)
    bare = EmulatorState.from_json({"organization": {"id": 1}})
    assert bare.accounts == {}
    with pytest.raises(ValueError, match="organization"):
        EmulatorState.from_json({"accounts": []})
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ValueError, match="JSON object"):
        EmulatorState.from_json(tmp_path / "list.json")


def test_a_thousand_resellers_are_listed_in_pages() -> None:
    state = EmulatorState.demo(extra_resellers=1000)
    with serve_emulator(state) as server, bss_for(server, wire=BSSWireConfig(page_size=500)) as bss:
        resellers = list(bss.list_resellers("100"))
    assert len(resellers) == 1004
    assert server.state.calls_to("GET /api/accounts") == 3


def test_create_app_exposes_its_emulator() -> None:
    app = create_app()
    assert app.state.emulator.state.organization["id"] == 100


def test_server_repr_and_manual_start_stop() -> None:
    server = EmulatorServer()
    assert server.url.startswith("http://127.0.0.1:")
    assert repr(server) == f"EmulatorServer(url={server.url!r})"
    with server, httpx.Client() as client:
        assert client.get(f"{server.url}/nothing").status_code == 404
        assert server.open_connections >= 1  # the client keeps its connection alive


def test_standalone_runner_parses_its_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen.update(kwargs, app=app)

    monkeypatch.setattr("uvicorn.run", fake_run)
    assert main(["--port", "8089", "--resellers", "5", "--latency", "0.01",
                 "--rate-limit", "10"]) == 0  # fmt: skip
    emulator = seen["app"].state.emulator
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 8089)
    assert len(emulator.state.accounts) == 13
    assert emulator.faults.latency == 0.01
    assert emulator.faults.rate_limit == RateLimit(10)
    path = tmp_path / "f.json"
    path.write_text(json.dumps(demo_fixture()))
    assert main(["--fixture", str(path)]) == 0
