"""StorefrontClient against a mocked Storefront: every route, the API key, minted idempotency
keys, aliases taken, and secrets kept out of logs, errors and reprs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import respx

from http_fakes import (
    API_KEY,
    Keys,
    json_response,
    make_storefront,
    sf_router,
    twin,  # noqa: F401 - the fixture that runs each test on both twins
)
from reseller_plans import AliasTaken, NotFound, Plan, ResellerPlansError, StorefrontAlias
from reseller_plans.http import AuthenticationFailed, MalformedResponse, OutcomeUnknown
from reseller_plans.ports import PlanOrder, Storefront
from reseller_plans.storefront import StorefrontWireConfig

ALIAS = StorefrontAlias.parse("techsolutions")
ALIAS_PATH = "/api/storefront/aliases/techsolutions"
FRONT = "/api/storefront/resellers/3542/storefront"

pytestmark = pytest.mark.usefixtures("twin")


@pytest.fixture
def router() -> respx.Router:
    return sf_router()


def test_every_request_carries_the_api_key(router: respx.Router) -> None:
    route = router.get(ALIAS_PATH).mock(return_value=json_response(404))
    make_storefront(router).is_alias_free(ALIAS, account_id="3542")
    assert route.calls[0].request.headers["X-ApiKey"] == API_KEY
    assert "Authorization" not in route.calls[0].request.headers


def test_the_api_key_header_is_configurable(router: respx.Router) -> None:
    route = router.get(ALIAS_PATH).mock(return_value=json_response(404))
    make_storefront(router, wire=StorefrontWireConfig(api_key_header="X-Key")).is_alias_free(
        ALIAS, account_id="1"
    )
    assert route.calls[0].request.headers["X-Key"] == API_KEY


@pytest.mark.parametrize(
    ("response", "free"),
    [
        (json_response(404, {"message": "not held"}), True),
        (json_response(200, {"alias": "techsolutions", "accountId": 3542}), True),
        (json_response(200, {"alias": "techsolutions", "accountId": 9}), False),
        (json_response(200, {"alias": "techsolutions", "accountId": ""}), False),
    ],
)
def test_is_alias_free(router: respx.Router, response: httpx.Response, free: bool) -> None:
    router.get(ALIAS_PATH).mock(return_value=response)
    assert make_storefront(router).is_alias_free(ALIAS, account_id="3542") is free


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"alias": "techsolutions"},
        {"alias": "techsolutions", "accountId": None},
        {"alias": "techsolutions", "accountId": {"id": 9}},
        {"alias": "techsolutions", "accountId": True},
    ],
)
def test_a_200_that_names_no_holder_is_malformed_never_free(
    router: respx.Router, body: dict[str, object]
) -> None:
    router.get(ALIAS_PATH).mock(return_value=json_response(200, body))
    with pytest.raises(MalformedResponse, match="accountId"):
        make_storefront(router).is_alias_free(ALIAS, account_id="3542")


def test_hold_alias_puts_the_holder(router: respx.Router) -> None:
    route = router.put(ALIAS_PATH).mock(return_value=json_response(201))
    make_storefront(router).hold_alias(ALIAS, account_id="3542")
    assert json.loads(route.calls[0].request.content) == {"accountId": 3542}


def test_hold_alias_taken_is_alias_taken(router: respx.Router) -> None:
    router.put(ALIAS_PATH).mock(return_value=json_response(409, {"message": "taken"}))
    with pytest.raises(AliasTaken) as caught:
        make_storefront(router).hold_alias(ALIAS, account_id="3542")
    assert caught.value.alias == "techsolutions"


@pytest.mark.parametrize("status", [204, 404, 409])
def test_release_alias_is_a_no_op_when_free_or_held_by_another(
    router: respx.Router, status: int
) -> None:
    route = router.delete(ALIAS_PATH).mock(return_value=httpx.Response(status))
    keys = Keys()
    make_storefront(router, key_factory=keys).release_alias(ALIAS, account_id="3542")
    request = route.calls[0].request
    assert request.url.params["accountId"] == "3542"
    assert request.headers["Idempotency-Key"] == keys.minted[0]


def test_activate_storefront_returns_its_url(router: respx.Router) -> None:
    route = router.post(f"{FRONT}/activate").mock(
        return_value=json_response(200, {"url": "https://cloud.disti.test/techsolutions"})
    )
    url = make_storefront(router).activate_storefront("3542", ALIAS, Plan.STANDARD)
    assert url == "https://cloud.disti.test/techsolutions"
    assert json.loads(route.calls[0].request.content) == {
        "alias": "techsolutions", "plan": "Standard",
    }  # fmt: skip


def test_activate_storefront_without_url_is_an_unknown_outcome(router: respx.Router) -> None:
    # the activation may have gone through: its garbled answer is "maybe done", not "refused"
    router.post(f"{FRONT}/activate").mock(return_value=json_response(200, {"status": "Active"}))
    with pytest.raises(OutcomeUnknown, match="url"):
        make_storefront(router).activate_storefront("3542", ALIAS, Plan.STANDARD)


def test_activate_storefront_with_a_taken_alias_is_alias_taken(router: respx.Router) -> None:
    router.post(f"{FRONT}/activate").mock(return_value=json_response(409))
    with pytest.raises(AliasTaken):
        make_storefront(router).activate_storefront("3542", ALIAS, Plan.STANDARD)


@pytest.mark.parametrize("action", ["suspend", "resume", "deactivate"])
def test_storefront_actions_post_with_a_minted_key(router: respx.Router, action: str) -> None:
    route = router.post(f"{FRONT}/{action}").mock(return_value=json_response(200))
    keys = Keys()
    getattr(make_storefront(router, key_factory=keys), f"{action}_storefront")("3542")
    assert route.calls[0].request.headers["Idempotency-Key"] == keys.minted[0]


def test_each_call_mints_its_own_key(router: respx.Router) -> None:
    route = router.post(f"{FRONT}/deactivate").mock(return_value=json_response(200))
    client = make_storefront(router)
    client.deactivate_storefront("3542")
    client.deactivate_storefront("3542")
    assert len({c.request.headers["Idempotency-Key"] for c in route.calls}) == 2


def test_suspend_of_an_unknown_storefront_is_not_found(router: respx.Router) -> None:
    router.post(f"{FRONT}/suspend").mock(return_value=json_response(404, {"message": "none"}))
    with pytest.raises(NotFound):
        make_storefront(router).suspend_storefront("3542")


def _basket_routes(router: respx.Router, checkout: httpx.Response | None = None) -> dict:
    return {
        "basket": router.post("/api/storefront/baskets").mock(
            return_value=json_response(201, {"id": "O-7"})
        ),
        "item": router.post("/api/storefront/baskets/O-7/items").mock(
            return_value=json_response(201, {"id": "I-1"})
        ),
        "checkout": router.post("/api/storefront/baskets/O-7/checkout").mock(
            return_value=checkout or json_response(200, {"orderId": "O-7", "subscriptionId": "S-3"})
        ),
    }


def test_purchase_plan_fills_a_basket_and_checks_out(router: respx.Router) -> None:
    routes = _basket_routes(router)
    order = make_storefront(router).purchase_plan(
        account_id="3542", product_id="P-3", alias=ALIAS, billing_cycle="monthly",
        idempotency_key="buy-1",
    )  # fmt: skip
    assert order == PlanOrder("O-7", "S-3")
    assert json.loads(routes["basket"].calls[0].request.content) == {"accountId": 3542}
    assert json.loads(routes["item"].calls[0].request.content) == {
        "productId": "P-3", "billingCycle": "Monthly",
        "attributes": [{"name": "StorefrontAlias", "value": "techsolutions"}],
    }  # fmt: skip
    keys = [routes[n].calls[0].request.headers["Idempotency-Key"] for n in routes]
    assert keys == ["buy-1/basket", "buy-1/item", "buy-1/checkout"]


def test_purchase_plan_without_alias_and_with_a_sparse_checkout(router: respx.Router) -> None:
    routes = _basket_routes(router, json_response(200, {}))
    order = make_storefront(router).purchase_plan(
        account_id="3542", product_id="P-2", alias=None, billing_cycle="annual",
        idempotency_key="buy-2",
    )  # fmt: skip
    assert order == PlanOrder("O-7", None)
    assert "attributes" not in json.loads(routes["item"].calls[0].request.content)


def test_purchase_plan_with_a_taken_alias_is_alias_taken(router: respx.Router) -> None:
    _basket_routes(router, json_response(409, {"message": "alias taken"}))
    with pytest.raises(AliasTaken):
        make_storefront(router).purchase_plan(
            account_id="3542", product_id="P-3", alias=ALIAS, billing_cycle="monthly",
            idempotency_key="k",
        )  # fmt: skip


def test_purchase_plan_refuses_an_unknown_cycle(router: respx.Router) -> None:
    routes = _basket_routes(router)
    with pytest.raises(ValueError, match="billing cycle"):
        make_storefront(router).purchase_plan(
            account_id="1", product_id="P", alias=None, billing_cycle="daily", idempotency_key="k"
        )
    assert routes["basket"].call_count == 0


def test_a_refused_api_key_is_authentication_failed_without_retry(router: respx.Router) -> None:
    route = router.get(ALIAS_PATH).mock(return_value=json_response(401))
    with pytest.raises(AuthenticationFailed):
        make_storefront(router).is_alias_free(ALIAS, account_id="1")
    assert route.call_count == 1


def test_routes_are_configurable(router: respx.Router) -> None:
    route = router.get("/v2/alias/techsolutions").mock(return_value=json_response(404))
    wire = StorefrontWireConfig(alias_route="/v2/alias/{alias}")
    assert make_storefront(router, wire=wire).is_alias_free(ALIAS, account_id="1")
    assert route.call_count == 1


def test_storefront_client_satisfies_the_port(router: respx.Router) -> None:
    port: Storefront = make_storefront(router)
    assert port is not None


def test_the_api_key_appears_in_no_log_error_or_repr(
    router: respx.Router, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "CANARY-sf-91b2"
    caplog.set_level(logging.DEBUG)
    router.get(ALIAS_PATH).mock(
        return_value=json_response(400, {"message": f"X-ApiKey: {canary} is not allowed here"})
    )
    client = make_storefront(router, api_key=canary)
    with pytest.raises(ResellerPlansError) as caught:
        client.is_alias_free(ALIAS, account_id="1")
    texts = [r.getMessage() for r in caplog.records] + [caplog.text, str(caught.value),
             repr(caught.value), str(caught.value.body_excerpt), repr(client),
             repr(client.backend)]  # fmt: skip
    assert all(canary not in text for text in texts)


def test_close(router: respx.Router) -> None:
    with make_storefront(router) as client:
        assert "shop.test" in repr(client)
        assert not client.closed
    assert client.closed


@pytest.mark.parametrize(
    ("response", "status"),
    [
        (json_response(200, {"status": "Active", "alias": "techsolutions"}), "live"),
        (json_response(200, {"status": "Suspended"}), "suspended"),
        (json_response(200, {"status": "Inactive"}), "none"),
        (json_response(404, {"message": "no storefront"}), "none"),
    ],
)
def test_storefront_status_reads_the_storefront(
    router: respx.Router, response: httpx.Response, status: str
) -> None:
    router.get(FRONT).mock(return_value=response)
    assert make_storefront(router).storefront_status("3542").value == status


@pytest.mark.parametrize("body", [{}, {"status": "Deleting"}, {"status": None}])
def test_an_unknown_storefront_status_is_malformed_never_none(
    router: respx.Router, body: dict[str, object]
) -> None:
    router.get(FRONT).mock(return_value=json_response(200, body))
    with pytest.raises(MalformedResponse):
        make_storefront(router).storefront_status("3542")
