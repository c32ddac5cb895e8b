"""BSSClient against a mocked BSS: the token, every endpoint it uses, paging, wire config,
and that no secret leaks into logs, errors or reprs."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from http_fakes import (
    BSS_URL,
    ORGANIZATION,
    PRODUCTS,
    TOKEN,
    FakeClock,
    Sleeps,
    account_body,
    bss_router,
    json_response,
    make_bss,
    page_body,
    token_body,
    twin,  # noqa: F401 - the fixture that runs each test on both twins
)
from reseller_plans import (
    Edition,
    NotFound,
    PermanentBackendError,
    Plan,
    ResellerPlansError,
    ServiceManagerState,
    StorefrontAlias,
)
from reseller_plans.bss import BSSClient, BSSWireConfig, PatchOperation, PlatformSubscription
from reseller_plans.http import AuthenticationFailed, BackendForbidden, MalformedResponse
from reseller_plans.ports import BSS, PlanOrder

pytestmark = pytest.mark.usefixtures("twin")


@pytest.fixture
def router() -> respx.Router:
    return bss_router()


def _form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


# -- the token ----------------------------------------------------------------------------------


def test_token_uses_password_grant_with_client_credentials_only_in_basic_auth(
    router: respx.Router,
) -> None:
    router.get("/api/accounts/1").mock(return_value=json_response(200, account_body(1)))
    make_bss(router, client_key="ck", client_secret="cs").get_account("1")
    token_request = router.routes["token"].calls[0].request
    assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(b"ck:cs").decode(
        "ascii"
    )
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert _form(token_request) == {
        "grant_type": ["password"], "username": ["api-user"], "password": ["pw-1"],
    }  # fmt: skip
    assert "ck" not in token_request.content.decode()
    assert "cs" not in token_request.content.decode()


def test_every_request_carries_bearer_and_api_version(router: respx.Router) -> None:
    route = router.get("/api/accounts/1").mock(return_value=json_response(200, account_body(1)))
    make_bss(router).get_account("1")
    headers = route.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["X-Api-Version"] == "3.0"
    assert router.routes["token"].calls[0].request.headers["X-Api-Version"] == "3.0"


def test_api_version_is_configurable(router: respx.Router) -> None:
    route = router.get("/api/accounts/1").mock(return_value=json_response(200, account_body(1)))
    make_bss(router, api_version="2.2").get_account("1")
    assert route.calls[0].request.headers["X-Api-Version"] == "2.2"


def test_token_is_cached_until_shortly_before_it_expires(router: respx.Router) -> None:
    router.get("/api/accounts/1").mock(return_value=json_response(200, account_body(1)))
    clock = FakeClock()
    bss = make_bss(router, clock=clock)
    bss.get_account("1")
    bss.get_account("1")
    assert bss.token_fetches == 1
    clock.advance(3600 - 31)
    bss.get_account("1")
    assert bss.token_fetches == 1
    clock.advance(1)
    bss.get_account("1")
    assert bss.token_fetches == 2


def test_a_token_without_expires_in_is_trusted_for_the_default_lifetime(
    router: respx.Router,
) -> None:
    router.routes["token"].mock(return_value=json_response(200, token_body(expires_in=None)))
    router.get("/api/accounts/1").mock(return_value=json_response(200, account_body(1)))
    clock = FakeClock()
    bss = make_bss(router, clock=clock, wire=BSSWireConfig(default_token_lifetime=100))
    bss.get_account("1")
    clock.advance(69)
    bss.get_account("1")
    assert bss.token_fetches == 1
    clock.advance(1)
    bss.get_account("1")
    assert bss.token_fetches == 2


def test_a_short_lived_token_is_renewed_at_half_its_life(router: respx.Router) -> None:
    router.routes["token"].mock(return_value=json_response(200, token_body(expires_in=20)))
    router.get("/api/accounts/1").mock(return_value=json_response(200, account_body(1)))
    clock = FakeClock()
    bss = make_bss(router, clock=clock)
    bss.get_account("1")
    clock.advance(10)
    bss.get_account("1")
    assert bss.token_fetches == 2


def test_a_401_fetches_a_new_token_once_and_replays(router: respx.Router) -> None:
    router.routes["token"].mock(
        side_effect=[json_response(200, token_body("old-tok")),
                     json_response(200, token_body("new-tok"))]
    )  # fmt: skip
    route = router.get("/api/accounts/1").mock(
        side_effect=[json_response(401), json_response(200, account_body(1))]
    )
    bss = make_bss(router)
    assert bss.get_account("1").id == "1"
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer old-tok", "Bearer new-tok",
    ]  # fmt: skip
    assert bss.token_fetches == 2


def test_a_401_after_the_refresh_is_authentication_failed(router: respx.Router) -> None:
    route = router.get("/api/accounts/1").mock(return_value=json_response(401))
    bss = make_bss(router)
    with pytest.raises(AuthenticationFailed):
        bss.get_account("1")
    assert route.call_count == 2
    assert bss.token_fetches == 2


@pytest.mark.parametrize("status", [400, 401])
def test_refused_credentials_are_authentication_failed(router: respx.Router, status: int) -> None:
    router.routes["token"].mock(
        return_value=json_response(status, {"error": "invalid_grant",
                                            "error_description": "bad user or password"})
    )  # fmt: skip
    with pytest.raises(AuthenticationFailed, match="bad user or password") as caught:
        make_bss(router).get_account("1")
    assert caught.value.status == status


def test_token_endpoint_failures_are_retried_then_transient(router: respx.Router) -> None:
    router.routes["token"].mock(side_effect=[json_response(503), json_response(200, token_body())])
    router.get("/api/accounts/1").mock(return_value=json_response(200, account_body(1)))
    sleeps = Sleeps()
    make_bss(router, sleeps=sleeps).get_account("1")
    assert router.routes["token"].call_count == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize("body", [{"token_type": "bearer"}, {"access_token": " "}])
def test_a_token_response_without_a_token_is_malformed(router: respx.Router, body: dict) -> None:
    router.routes["token"].mock(return_value=json_response(200, body))
    with pytest.raises(MalformedResponse):
        make_bss(router).get_account("1")


# -- accounts -----------------------------------------------------------------------------------


def test_get_account_reads_the_v3_body(router: respx.Router) -> None:
    router.get("/api/accounts/3542").mock(
        return_value=json_response(
            200, account_body(3542, resellerPlan="Standard", storefrontAlias="TechSolutions")
        )
    )
    account = make_bss(router).get_account("3542")
    assert account.id == "3542"
    assert account.distributor_id == "100"
    assert account.name == "Account 3542"
    assert account.email == "a3542@example.test"
    assert account.reselling_enabled is True
    assert account.plan is Plan.STANDARD
    assert account.alias == StorefrontAlias.parse("techsolutions")


def test_get_account_falls_back_to_enable_reselling_and_bill_to_id(router: respx.Router) -> None:
    body = {"id": 7, "name": "Old", "enableReselling": "true", "billToAccountId": 100}
    router.get("/api/accounts/7").mock(return_value=json_response(200, body))
    account = make_bss(router).get_account("7")
    assert account.reselling_enabled is True
    assert account.distributor_id == "100"
    assert account.plan is Plan.BASIC
    assert account.alias is None
    assert account.email == ""


def test_get_account_uses_the_configured_distributor_when_none_is_named(
    router: respx.Router,
) -> None:
    router.get("/api/accounts/7").mock(return_value=json_response(200, {"id": 7, "name": "X"}))
    assert make_bss(router, distributor_id="100").get_account("7").distributor_id == "100"
    with pytest.raises(MalformedResponse, match="distributor_id"):
        make_bss(router).get_account("7")


def test_an_unusable_alias_on_the_account_is_no_alias(router: respx.Router) -> None:
    router.get("/api/accounts/7").mock(
        return_value=json_response(200, account_body(7, storefrontAlias="a"))
    )
    assert make_bss(router).get_account("7").alias is None


@pytest.mark.parametrize(
    "body",
    [{"name": "no id"}, {"id": 7}, {"id": 7, "name": "x", "resellingEnabled": "maybe"},
     {"id": 7, "name": "x", "billToAccountId": 1, "resellerPlan": "Gold"}, ["not", "an", "object"]],
)  # fmt: skip
def test_an_unreadable_account_is_malformed_response(router: respx.Router, body: object) -> None:
    router.get("/api/accounts/7").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(MalformedResponse):
        make_bss(router).get_account("7")


def test_get_account_404_is_not_found(router: respx.Router) -> None:
    router.get("/api/accounts/9").mock(return_value=json_response(404, {"message": "gone"}))
    with pytest.raises(NotFound):
        make_bss(router).get_account("9")


def test_account_ids_are_escaped_into_one_path_segment(router: respx.Router) -> None:
    route = router.get("/api/accounts/a%2Fb").mock(return_value=json_response(200, account_body(1)))
    make_bss(router).get_account("a/b")
    assert route.call_count == 1


def test_list_resellers_filters_and_follows_next_links_lazily(router: respx.Router) -> None:
    page2 = f"{BSS_URL}/api/accounts?pageIndex=2&pageSize=2&%24filter=x"
    route = router.get("/api/accounts").mock(
        side_effect=[
            json_response(200, page_body([account_body(1), account_body(2)], index=1, pages=2,
                                         next_url=page2)),
            json_response(200, page_body([account_body(3)], index=2, pages=2, next_url=None)),
        ]
    )  # fmt: skip
    bss = make_bss(router, wire=BSSWireConfig(page_size=2))
    resellers = bss.list_resellers("100")
    first = next(resellers)
    assert first.id == "1"
    assert route.call_count == 1  # lazily: the second page is not fetched yet
    assert [a.id for a in resellers] == ["2", "3"]
    assert route.call_count == 2
    params = route.calls[0].request.url.params
    assert params["$filter"] == "resellingEnabled eq true and billToAccountId eq 100"
    assert (params["pageIndex"], params["pageSize"]) == ("1", "2")
    assert str(route.calls[1].request.url) == page2


def test_list_resellers_stops_at_total_pages_even_with_a_next_link(router: respx.Router) -> None:
    route = router.get("/api/accounts").mock(
        return_value=json_response(
            200, page_body([account_body(1)], index=1, pages=1,
                           next_url=f"{BSS_URL}/api/accounts?pageIndex=2")
        )
    )  # fmt: skip
    assert [a.id for a in make_bss(router).list_resellers("100")] == ["1"]
    assert route.call_count == 1


def test_list_resellers_stops_on_an_empty_page_or_a_repeated_link(router: respx.Router) -> None:
    same = f"{BSS_URL}/api/accounts?pageIndex=2"
    route = router.get("/api/accounts").mock(
        side_effect=[
            json_response(200, {"data": [account_body(1)], "links": {"next": same}}),
            json_response(200, {"data": [account_body(2)], "links": {"next": same}}),
            json_response(200, {"data": [account_body(3)], "links": {"next": same}}),
        ]
    )
    assert [a.id for a in make_bss(router).list_resellers("100")] == ["1", "2"]
    assert route.call_count == 2
    route.mock(return_value=json_response(200, {"data": [], "links": {"next": same}}))
    assert list(make_bss(router).list_resellers("100")) == []


def test_list_resellers_drops_accounts_the_filter_should_have_dropped(
    router: respx.Router,
) -> None:
    rows = [
        account_body(1),
        account_body(2, resellingEnabled=False),
        account_body(3, billToAccount={"id": 999}),
    ]
    router.get("/api/accounts").mock(
        return_value=json_response(200, page_body(rows, index=1, pages=1, next_url=None))
    )
    assert [a.id for a in make_bss(router).list_resellers("100")] == ["1"]


def test_list_resellers_quotes_a_textual_distributor_id(router: respx.Router) -> None:
    route = router.get("/api/accounts").mock(
        return_value=json_response(200, page_body([], index=1, pages=0, next_url=None))
    )
    list(make_bss(router).list_resellers("D-1'0"))
    assert route.calls[0].request.url.params["$filter"].endswith("billToAccountId eq 'D-1''0'")


def test_a_next_link_to_another_host_is_refused(router: respx.Router) -> None:
    router.get("/api/accounts").mock(
        return_value=json_response(
            200, page_body([account_body(1)], index=1, pages=2,
                           next_url="https://evil.test/api/accounts?pageIndex=2")
        )
    )  # fmt: skip
    with pytest.raises(MalformedResponse, match="another origin"):
        list(make_bss(router).list_resellers("100"))


def test_patch_account_sends_a_json_patch_document(router: respx.Router) -> None:
    route = router.patch("/api/accounts/7").mock(return_value=json_response(200, account_body(7)))
    make_bss(router).patch_account(
        "7",
        [PatchOperation.replace("/orderingEnabled", "true"), PatchOperation("remove", "/fax")],
        idempotency_key="p-1",
    )
    request = route.calls[0].request
    assert json.loads(request.content) == [
        {"op": "replace", "path": "/orderingEnabled", "value": "true"},
        {"op": "remove", "path": "/fax"},
    ]
    assert request.headers["Content-Type"] == "application/json-patch+json"
    assert request.headers["Idempotency-Key"] == "p-1"


def test_patch_operations_are_checked() -> None:
    with pytest.raises(ValueError, match="op"):
        PatchOperation("merge", "/a")
    with pytest.raises(ValueError, match="JSON pointer"):
        PatchOperation("replace", "a")


def test_patch_account_needs_operations(router: respx.Router) -> None:
    with pytest.raises(ValueError, match="at least one"):
        make_bss(router).patch_account("7", [])


# -- the license --------------------------------------------------------------------------------


@pytest.mark.parametrize(("plan", "value"), [(Plan.FREE, "Free"), (Plan.STANDARD, "Standard")])
def test_provision_license_patches_the_reseller_plan(
    router: respx.Router, plan: Plan, value: str
) -> None:
    route = router.patch("/api/accounts/7").mock(return_value=json_response(200, account_body(7)))
    make_bss(router).provision_license("7", plan, idempotency_key="lic-1")
    assert json.loads(route.calls[0].request.content) == [
        {"op": "replace", "path": "/resellerPlan", "value": value}
    ]
    assert route.calls[0].request.headers["Idempotency-Key"] == "lic-1"


def test_revoke_license_patches_basic_and_paths_are_configurable(router: respx.Router) -> None:
    route = router.patch("/api/accounts/7").mock(return_value=httpx.Response(204))
    wire = BSSWireConfig(license_path="/customFields/plan", license_values={
        Plan.BASIC: "none", Plan.FREE: "free", Plan.STANDARD: "std"})  # fmt: skip
    make_bss(router, wire=wire).revoke_license("7", idempotency_key="lic-2")
    assert json.loads(route.calls[0].request.content) == [
        {"op": "replace", "path": "/customFields/plan", "value": "none"}
    ]


def test_provision_license_refuses_basic(router: respx.Router) -> None:
    with pytest.raises(ValueError, match="revoke_license"):
        make_bss(router).provision_license("7", Plan.BASIC, idempotency_key="k")


# -- the distributor ----------------------------------------------------------------------------


def test_get_distributor_reads_the_organization_and_finds_plan_products(
    router: respx.Router,
) -> None:
    router.get("/api/organization").mock(return_value=json_response(200, ORGANIZATION))
    products = router.get("/api/products").mock(
        side_effect=[
            json_response(200, page_body(PRODUCTS[:2], index=1, pages=2,
                                         next_url=f"{BSS_URL}/api/products?pageIndex=2")),
            json_response(200, page_body(PRODUCTS[2:], index=2, pages=2, next_url=None)),
        ]
    )  # fmt: skip
    profile = make_bss(router).get_distributor("100")
    assert profile.id == "100"
    assert profile.name == "Disti"
    assert profile.edition is Edition.DIAMOND
    assert profile.active_addons == frozenset({"standard_edition_resellers"})
    assert profile.service_manager is ServiceManagerState.ACTIVE
    assert profile.plan_products == {Plan.FREE: "P-2", Plan.STANDARD: "P-3"}
    assert profile.storefront_host == "cloud.disti.test"
    assert profile.staff_email == "ops@disti.test"
    assert products.call_count == 2


def test_get_distributor_stops_paging_once_every_plan_product_is_found(
    router: respx.Router,
) -> None:
    router.get("/api/organization").mock(return_value=json_response(200, ORGANIZATION))
    products = router.get("/api/products").mock(
        return_value=json_response(200, page_body(PRODUCTS, index=1, pages=5,
                                                  next_url=f"{BSS_URL}/api/products?p=2"))
    )  # fmt: skip
    make_bss(router).get_distributor("100")
    assert products.call_count == 1


@pytest.mark.parametrize(
    ("edition", "status", "expected_edition", "expected_state"),
    [
        ("Diamond with Distribution Rights", "Activated",
         Edition.DIAMOND_WITH_DISTRIBUTION_RIGHTS, ServiceManagerState.ACTIVE),
        ("Professional", "Not Installed", Edition.PROFESSIONAL, ServiceManagerState.NOT_INSTALLED),
        ("ENTERPRISE", "Failed", Edition.ENTERPRISE, ServiceManagerState.FAILED),
    ],
)  # fmt: skip
def test_edition_and_service_manager_labels_are_normalized(
    router: respx.Router, edition: str, status: str, expected_edition: Edition,
    expected_state: ServiceManagerState,
) -> None:  # fmt: skip
    org = {**ORGANIZATION, "edition": edition, "serviceManagerStatus": status}
    router.get("/api/organization").mock(return_value=json_response(200, org))
    router.get("/api/products").mock(
        return_value=json_response(200, page_body([], index=1, pages=0, next_url=None))
    )
    profile = make_bss(router).get_distributor("100")
    assert profile.edition is expected_edition
    assert profile.service_manager is expected_state
    assert profile.plan_products == {}


@pytest.mark.parametrize(
    "org",
    [{**ORGANIZATION, "edition": "Platinum"}, {**ORGANIZATION, "serviceManagerStatus": "Weird"},
     {**ORGANIZATION, "activeAddons": "one"}],
)  # fmt: skip
def test_an_unreadable_profile_is_malformed_response(router: respx.Router, org: dict) -> None:
    router.get("/api/organization").mock(return_value=json_response(200, org))
    router.get("/api/products").mock(return_value=json_response(200, page_body(
        [], index=1, pages=0, next_url=None)))  # fmt: skip
    with pytest.raises(MalformedResponse):
        make_bss(router).get_distributor("100")


def test_another_distributors_bss_is_not_found(router: respx.Router) -> None:
    router.get("/api/organization").mock(return_value=json_response(200, ORGANIZATION))
    with pytest.raises(NotFound, match="organization 100, not to distributor 200"):
        make_bss(router).get_distributor("200")


# -- orders -------------------------------------------------------------------------------------


def _order_routes(router: respx.Router, checkout: dict | None = None) -> dict[str, respx.Route]:
    return {
        "order": router.post("/api/orders").mock(
            return_value=json_response(201, {"id": "O-1", "status": "Draft"})
        ),
        "item": router.post("/api/orders/O-1/items").mock(
            return_value=json_response(201, {"id": "I-1"})
        ),
        "checkout": router.post("/api/orders/O-1/checkout").mock(
            return_value=json_response(200, checkout if checkout is not None else
                                       {"id": "O-1", "subscriptionId": "S-1"})
        ),
    }  # fmt: skip


def test_place_plan_order_creates_a_draft_adds_the_line_and_checks_out(
    router: respx.Router,
) -> None:
    routes = _order_routes(router)
    order = make_bss(router).place_plan_order(
        account_id="3542", product_id="P-3", alias=StorefrontAlias.parse("techsolutions"),
        billing_cycle="annual", idempotency_key="up-1",
    )  # fmt: skip
    assert order == PlanOrder(order_id="O-1", platform_subscription_id="S-1")
    assert json.loads(routes["order"].calls[0].request.content) == {"accountId": 3542}
    assert json.loads(routes["item"].calls[0].request.content) == {
        "productId": "P-3",
        "quantity": 1,
        "billingCycle": "Annually",
        "attributes": [{"name": "StorefrontAlias", "value": "techsolutions"}],
    }
    keys = [routes[n].calls[0].request.headers["Idempotency-Key"] for n in routes]
    assert keys == ["up-1/order", "up-1/item", "up-1/checkout"]


def test_place_plan_order_without_alias_sends_no_attributes(router: respx.Router) -> None:
    routes = _order_routes(router)
    make_bss(router).place_plan_order(
        account_id="A-1", product_id="P-2", alias=None, billing_cycle="monthly",
        idempotency_key="k",
    )  # fmt: skip
    assert json.loads(routes["order"].calls[0].request.content) == {"accountId": "A-1"}
    assert "attributes" not in json.loads(routes["item"].calls[0].request.content)


@pytest.mark.parametrize(
    ("checkout", "expected"),
    [
        ({"id": "O-1", "subscriptions": [{"id": "S-9"}]}, "S-9"),
        ({"id": "O-1", "items": [{"subscriptionId": "S-8"}]}, "S-8"),
        ({"id": "O-1", "status": "Executed"}, None),
        ({"id": "O-1", "subscriptions": []}, None),
    ],
)
def test_the_created_subscription_is_read_from_the_checkout_when_given(
    router: respx.Router, checkout: dict, expected: str | None
) -> None:
    _order_routes(router, checkout)
    order = make_bss(router).place_plan_order(
        account_id="1", product_id="P-2", alias=None, billing_cycle="monthly", idempotency_key="k"
    )
    assert order.platform_subscription_id == expected


def test_an_empty_checkout_response_is_an_order_without_subscription(
    router: respx.Router,
) -> None:
    _order_routes(router)
    router.post("/api/orders/O-1/checkout").mock(return_value=httpx.Response(204))
    order = make_bss(router).place_plan_order(
        account_id="1", product_id="P-2", alias=None, billing_cycle="monthly", idempotency_key="k"
    )
    assert order == PlanOrder("O-1", None)


def test_an_unknown_billing_cycle_is_refused_before_any_call(router: respx.Router) -> None:
    routes = _order_routes(router)
    with pytest.raises(ValueError, match="billing cycle"):
        make_bss(router).place_plan_order(
            account_id="1", product_id="P", alias=None, billing_cycle="weekly", idempotency_key="k"
        )
    assert routes["order"].call_count == 0


def test_a_free_plan_api_user_is_told_its_plan_only_reads(router: respx.Router) -> None:
    router.post("/api/orders").mock(return_value=json_response(403, {"message": "Forbidden"}))
    with pytest.raises(BackendForbidden, match="the plan of this API user does not allow") as c:
        make_bss(router, api_user_plan=Plan.FREE).place_plan_order(
            account_id="1", product_id="P", alias=None, billing_cycle="monthly",
            idempotency_key="k",
        )  # fmt: skip
    assert c.value.api_user_plan


def test_a_read_only_refusal_is_recognised_from_the_body(router: respx.Router) -> None:
    router.post("/api/subscriptions/S-1/cancel").mock(
        return_value=json_response(403, {"message": "Free plan users have read-only access"})
    )
    with pytest.raises(BackendForbidden) as caught:
        make_bss(router).cancel_subscription("S-1", idempotency_key="c")
    assert caught.value.api_user_plan


def test_a_plain_403_is_forbidden_without_the_plan_message(router: respx.Router) -> None:
    router.post("/api/subscriptions/S-1/cancel").mock(
        return_value=json_response(403, {"message": "Not your subscription"})
    )
    with pytest.raises(BackendForbidden) as caught:
        make_bss(router).cancel_subscription("S-1", idempotency_key="c")
    assert not caught.value.api_user_plan
    assert "plan of this API user" not in str(caught.value)


# -- subscriptions ------------------------------------------------------------------------------


def test_get_subscription_reads_status_account_and_product(router: respx.Router) -> None:
    router.get("/api/subscriptions/S-1").mock(
        return_value=json_response(
            200, {"id": "S-1", "status": "Active", "account": {"id": 7}, "productId": "P-3"}
        )
    )
    assert make_bss(router).get_subscription("S-1") == PlatformSubscription(
        "S-1", "Active", "7", "P-3"
    )


@pytest.mark.parametrize("action", ["cancel", "suspend", "resume"])
def test_subscription_actions_post_with_the_callers_key(router: respx.Router, action: str) -> None:
    route = router.post(f"/api/subscriptions/S-1/{action}").mock(return_value=httpx.Response(200))
    getattr(make_bss(router), f"{action}_subscription")("S-1", idempotency_key=f"{action}-1")
    assert route.calls[0].request.headers["Idempotency-Key"] == f"{action}-1"


@pytest.mark.parametrize(
    ("action", "status"), [("cancel", "Cancelled"), ("suspend", "SUSPENDED"), ("resume", "active")]
)
def test_refusing_an_action_already_done_counts_as_done(
    router: respx.Router, action: str, status: str
) -> None:
    router.post(f"/api/subscriptions/S-1/{action}").mock(
        return_value=json_response(400, {"message": "already"})
    )
    router.get("/api/subscriptions/S-1").mock(
        return_value=json_response(200, {"id": "S-1", "status": status})
    )
    getattr(make_bss(router), f"{action}_subscription")("S-1", idempotency_key="k")


def test_refusing_an_action_not_done_is_raised(router: respx.Router) -> None:
    router.post("/api/subscriptions/S-1/resume").mock(
        return_value=json_response(400, {"message": "cancelled subscriptions cannot resume"})
    )
    router.get("/api/subscriptions/S-1").mock(
        return_value=json_response(200, {"id": "S-1", "status": "Cancelled"})
    )
    with pytest.raises(PermanentBackendError, match="cannot resume"):
        make_bss(router).resume_subscription("S-1", idempotency_key="k")


def test_routes_of_suspend_and_resume_are_configurable(router: respx.Router) -> None:
    route = router.post("/api/subscriptions/S-1/deactivate").mock(return_value=httpx.Response(200))
    make_bss(router, wire=BSSWireConfig(suspend_action="deactivate")).suspend_subscription(
        "S-1", idempotency_key="k"
    )
    assert route.call_count == 1


# -- the port, secrets, connections -------------------------------------------------------------


def test_bss_client_satisfies_the_port(router: respx.Router) -> None:
    port: BSS = make_bss(router)
    assert port is not None


def test_canary_secrets_appear_in_no_log_record_error_or_repr(
    router: respx.Router, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "CANARY-7f3a"
    caplog.set_level(logging.DEBUG)
    router.routes["token"].mock(return_value=json_response(200, token_body(f"{canary}-token")))
    router.get("/api/accounts/1").mock(
        side_effect=[
            json_response(401, {"message": f"token {canary}-token expired"}),
            json_response(500, {"message": f"password={canary}-password leaked"}),
            json_response(400, {"message": f"bad secret {canary}-secret",
                                "access_token": f"{canary}-token"}),
        ]
    )  # fmt: skip
    bss = make_bss(
        router, client_key=f"{canary}-key", client_secret=f"{canary}-secret",
        password=f"{canary}-password",
    )  # fmt: skip
    errors: list[BaseException] = []
    try:
        bss.get_account("1")
    except ResellerPlansError as error:
        errors.append(error)
    router.routes["token"].mock(
        return_value=json_response(400, {"error_description": f"{canary}-password is wrong"})
    )
    fresh = make_bss(router, client_secret=f"{canary}-secret", password=f"{canary}-password")
    try:
        fresh.get_account("1")
    except ResellerPlansError as error:
        errors.append(error)
    assert len(errors) == 2
    texts = [r.getMessage() for r in caplog.records] + [caplog.text]
    for error in errors:
        texts += [str(error), repr(error), str(getattr(error, "body_excerpt", ""))]
    texts += [repr(bss), repr(fresh), repr(bss.backend), repr(bss.wire)]
    assert all(canary not in text for text in texts)


def test_close_closes_our_client_and_leaves_an_injected_one(router: respx.Router) -> None:
    with make_bss(router) as bss:
        assert not bss.closed
    assert bss.closed
    injected = httpx.Client()
    other = BSSClient(BSS_URL, client_key="k", client_secret="s", username="u", password="p",
                      http_client=injected)  # fmt: skip
    other.close()
    assert not injected.is_closed
    injected.close()
