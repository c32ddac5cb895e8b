"""The service manager's handler called directly: plan resolution, the catalog, failures of the
backends, out-of-order calls, logging, and the wire details that are quicker to pin without HTTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Any

import pytest

from reseller_plans import (
    Actor,
    InvalidInput,
    Plan,
    ResellerAccount,
    Timing,
)
from reseller_plans.domain.subscription import BillingCycle, SubscriptionStatus
from reseller_plans.service_manager import (
    PlanCatalog,
    PlanPrice,
    PlanProduct,
    PlatformCall,
    ResultCode,
    ServiceManager,
)
from reseller_plans.service_manager.headers import Credentials, header_values
from reseller_plans.service_manager.routes import find_route
from reseller_plans.service_manager.wire import BadRequest, load_json, parse_service_request
from reseller_plans.testing.faults import SimulatedCrash
from service_manager_world import (
    API_KEY,
    APP_ID,
    HEADERS,
    NORTHWIND,
    OTHER_DISTRIBUTOR,
    TECHSOLUTIONS,
    World,
    create_body,
    envelope,
    fixture,
    headers,
)

PLATFORM_ID = "5f0c6a1e-8d7b-4c2e-9a51-3b7e2d4c9f10"


def _cancel_body(subscription_id: str = "sub_0001") -> dict[str, Any]:
    body: dict[str, Any] = fixture("sm_subscriptions_cancel")
    body["ID"] = subscription_id
    body["SubscriptionID"] = PLATFORM_ID
    return body


def _plan_body(plan_code: str | None, product_id: str | None) -> dict[str, Any]:
    body = create_body(check_only=True)
    if plan_code is None:
        del body["AttributeList"]["ResellerPlan"]
    else:
        body["AttributeList"]["ResellerPlan"]["Code"] = plan_code
    body["ProductID"] = product_id
    return body


# ---------------------------------------------------------------------- which plan a call names


@pytest.mark.parametrize(
    ("code", "product_id", "plan"),
    [
        ("ResellerPlan_Standard", "whatever", "Standard"),
        ("ResellerPlan_Free", "ResellerPlanStandard", "Free"),  # the attribute comes first
        ("standard", None, "Standard"),
        ("RESELLERPLAN_FREE", None, "Free"),
        (None, "ResellerPlanFree", "Free"),
        ("", "resellerplanstandard", "Standard"),
        ("ResellerPlan_Gold", "ResellerPlanStandard", "Standard"),  # an unknown code falls through
    ],
)
def test_the_plan_is_read_from_the_plan_attribute_then_the_product_id(
    code: str | None, product_id: str | None, plan: str
) -> None:
    world = World()

    answer = envelope(world.handle("Subscriptions/Create", _plan_body(code, product_id)))

    assert answer["Message"] == f"account 3542 may have the {plan} plan"


def test_a_configured_platform_product_id_names_a_plan() -> None:
    world = World(catalog=PlanCatalog(platform_product_ids={"P-77": Plan.STANDARD}))

    answer = envelope(world.handle("Subscriptions/Create", _plan_body(None, "P-77")))

    assert answer["Message"] == "account 3542 may have the Standard plan"


def test_the_distributors_own_catalog_product_id_names_a_plan() -> None:
    world = World()
    world.change_distributor(plan_products={Plan.FREE: "BSS-1", Plan.STANDARD: "BSS-2"})

    answer = envelope(world.handle("Subscriptions/Create", _plan_body(None, "BSS-1")))

    assert answer["Message"] == "account 3542 may have the Free plan"


@pytest.mark.parametrize(
    ("code", "product_id"), [(None, "Other"), ("ResellerPlan_Basic", None), (None, None)]
)
def test_a_call_naming_no_plan_is_an_unknown_product(
    code: str | None, product_id: str | None
) -> None:
    world = World()

    answer = envelope(world.handle("Subscriptions/Create", _plan_body(code, product_id)))

    assert answer["Code"] == ResultCode.UNKNOWN_PRODUCT
    assert answer["Message"].startswith("unknown product: ")
    assert "ResellerPlanFree or ResellerPlanStandard" in answer["Message"]


# ---------------------------------------------------------------------- the catalog


def test_the_catalog_declares_the_distributors_names_ids_and_prices() -> None:
    catalog = PlanCatalog(
        free=PlanProduct("RP-FREE", "Partner Portal", "Free for partners"),
        standard=PlanProduct(
            "RP-STD",
            "Partner Storefront",
            "Your shop",
            (PlanPrice("usd", "19.99", 199), PlanPrice("EUR", 18, 180)),
        ),
        product_type_id="PartnerPlans",
        product_type_name="Partner plans",
    )
    world = World(catalog=catalog)

    (product_type,) = world.handle("Fields/ServiceDefinition", method="GET").json()["ProductTypes"]

    assert (product_type["ID"], product_type["Name"]) == ("PartnerPlans", "Partner plans")
    free, standard = product_type["ProductsCollection"]["Products"]
    assert (free["ID"], free["Name"], free["Description"]) == (
        "RP-FREE",
        "Partner Portal",
        "Free for partners",
    )
    assert free["RelatedProducts"] == [{"ProductID": "RP-STD", "Relation": 5}]
    assert [p["Currency"] for p in free["Prices"]] == ["USD", "EUR"]
    assert {u["Price"] for p in free["Prices"] for u in p["Units"]} == {0}
    assert standard["Prices"][0] == {
        "Currency": "USD",
        "Units": [
            {"BillingCycle": 0, "Price": 19.99, "Cost": 0},
            {"BillingCycle": 1, "Price": 199, "Cost": 0},
        ],
    }
    assert envelope(world.handle("Subscriptions/Create", _plan_body(None, "RP-STD")))["Code"] == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: PlanCatalog(free=PlanProduct("F", "Free", "", (PlanPrice("EUR", 1, 0),))),
        lambda: PlanCatalog(free=PlanProduct("Same", "Free"), standard=PlanProduct("same", "S")),
        lambda: PlanCatalog(platform_product_ids={"X": Plan.BASIC}),
        lambda: PlanPrice("EURO", 1, 1),
        lambda: PlanPrice("EUR", -1, 1),
        lambda: PlanPrice("EUR", "NaN", 1),
        lambda: PlanPrice("EUR", "ten", 1),
        lambda: PlanProduct(" ", "name"),
        lambda: PlanProduct("id", "name", "", (PlanPrice("EUR", 1, 1), PlanPrice("eur", 2, 2))),
    ],
)
def test_a_catalog_that_breaks_a_rule_is_refused(make: Any) -> None:
    with pytest.raises(InvalidInput):
        make()


def test_the_catalog_knows_each_plans_product() -> None:
    catalog = PlanCatalog()

    assert catalog.product(Plan.FREE).id == "ResellerPlanFree"
    assert catalog.product(Plan.STANDARD).prices[0].monthly == Decimal("49.00")
    with pytest.raises(InvalidInput):
        catalog.product(Plan.BASIC)


# ---------------------------------------------------------------------- backends failing


def test_a_create_waiting_for_a_retry_answers_1008_and_its_redelivery_resumes_it() -> None:
    world = World()
    world.bss.faults.fail("storefront.activate_storefront", times=3)

    first = envelope(world.handle("Subscriptions/Create", create_body()))
    assert first["Code"] == ResultCode.BACKEND_UNAVAILABLE
    assert first["Result"] == "sub_0001"
    assert "waiting for a retry" in first["Message"]
    assert world.plans.get("sub_0001").provisioning_failed

    second = envelope(world.handle("Subscriptions/Create", create_body()))

    assert (second["Code"], second["Result"]) == (0, "sub_0001")
    assert world.plans.get("sub_0001").status is SubscriptionStatus.ACTIVE
    assert len(world.subscriptions()) == 1
    assert [m.kind.value for m in world.mailer.sent] == ["provisioning_failed", "welcome"]


def test_a_create_rolled_back_for_good_answers_1012_and_cancels_as_never_live() -> None:
    world = World()
    world.bss.faults.fail("storefront.activate_storefront", permanent=True, times=None)

    first = envelope(world.handle("Subscriptions/Create", create_body()))
    cancelled = envelope(world.handle("Subscriptions/Cancel", _cancel_body()))

    assert first["Code"] == ResultCode.PROVISIONING_FAILED
    assert "stays on Basic" in first["Message"]
    assert world.licensed_plan() is Plan.BASIC
    assert cancelled["Code"] == 0
    assert "never went live" in cancelled["Message"]


def test_the_platforms_retry_of_a_rolled_back_create_tries_afresh() -> None:
    world = World()
    world.bss.faults.fail("storefront.activate_storefront", permanent=True)

    first = envelope(world.handle("Subscriptions/Create", create_body()))
    retried = envelope(world.handle("Subscriptions/Create", create_body()))  # cause fixed
    again = envelope(world.handle("Subscriptions/Create", create_body()))  # a duplicate

    assert first["Code"] == ResultCode.PROVISIONING_FAILED
    assert retried["Code"] == 0
    assert retried["Result"] != first["Result"]
    assert again == retried
    assert world.licensed_plan() is Plan.STANDARD


def test_a_cancel_while_the_create_is_still_in_progress_is_refused_and_changes_nothing() -> None:
    world = World()
    world.bss.faults.crash("bss.provision_license")
    with pytest.raises(SimulatedCrash):  # the process dies in the middle of the activation
        world.handle("Subscriptions/Create", create_body())
    before = world.snapshot()

    answer = envelope(world.handle("Subscriptions/Cancel", _cancel_body()))

    assert answer["Code"] == ResultCode.ILLEGAL_STATE
    assert "the activation is still in progress" in answer["Message"]
    assert world.snapshot() == before

    world.plans.run_due()  # the worker resumes the activation
    assert envelope(world.handle("Subscriptions/Create", create_body()))["Result"] == "sub_0001"
    assert envelope(world.handle("Subscriptions/Cancel", _cancel_body()))["Code"] == 0
    assert world.plans.plan_of(TECHSOLUTIONS) is Plan.BASIC


def test_a_bss_that_is_unavailable_answers_1008_not_500() -> None:
    world = World()
    world.bss.faults.fail("bss.get_account", times=None)
    before = world.snapshot()

    precheck = envelope(world.handle("Subscriptions/Create", create_body(check_only=True)))
    create = envelope(world.handle("Subscriptions/Create", create_body()))
    sync = envelope(world.handle("Accounts/Synchronize", fixture("sm_accounts_synchronize")))

    assert precheck["Code"] == create["Code"] == sync["Code"] == ResultCode.BACKEND_UNAVAILABLE
    assert "retry later" in create["Message"]
    assert world.snapshot() == before


def test_a_suspension_that_waits_for_a_retry_is_resumed_by_its_redelivery() -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body()))
    world.bss.faults.fail("storefront.suspend_storefront", times=3)

    first = envelope(world.handle("Subscriptions/Suspend", _cancel_body()))
    second = envelope(world.handle("Subscriptions/Suspend", _cancel_body()))

    assert first["Code"] == ResultCode.BACKEND_UNAVAILABLE
    assert second["Code"] == 0
    assert world.plans.get("sub_0001").status is SubscriptionStatus.SUSPENDED


def test_a_suspension_undone_after_a_permanent_failure_answers_1011() -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body()))
    world.bss.faults.fail("storefront.suspend_storefront", permanent=True)

    answer = envelope(world.handle("Subscriptions/Suspend", _cancel_body()))

    assert answer["Code"] == ResultCode.BACKEND_REFUSED
    assert "stayed active" in answer["Message"]
    assert world.plans.get("sub_0001").status is SubscriptionStatus.ACTIVE


def test_an_unexpected_error_is_a_500_without_a_traceback_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_reader(account_id: str, call: PlatformCall) -> ResellerAccount:
        raise RuntimeError("the reader has a bug")

    world = World(account_reader=broken_reader)
    caplog.set_level(logging.INFO, logger="reseller_plans.service_manager")

    response = world.handle("Accounts/Synchronize", fixture("sm_accounts_synchronize"))

    assert response.status == 500
    assert response.json() == {"Message": "An error has occurred."}
    assert b"Traceback" not in response.body
    assert b"reader has a bug" not in response.body
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None
    assert HEADERS["X-CloudPlatform-TrackId"] in record.getMessage()


# ---------------------------------------------------------------------- plan changes over time


def test_a_downgrade_at_term_end_is_scheduled_and_withdrawn_when_standard_returns() -> None:
    world = World(downgrade_timing=Timing.END_OF_TERM)
    envelope(world.handle("Subscriptions/Create", create_body()))
    downgrade = _cancel_body()
    downgrade["ProductID"] = "ResellerPlanFree"
    downgrade["AttributeList"]["ResellerPlan"]["Code"] = "ResellerPlan_Free"
    upgrade = _cancel_body()
    upgrade["ProductID"] = "ResellerPlanStandard"
    upgrade["AttributeList"]["ResellerPlan"]["Code"] = "ResellerPlan_Standard"

    scheduled = envelope(world.handle("Subscriptions/UpgradeDowngrade", downgrade))
    again = envelope(world.handle("Subscriptions/UpgradeDowngrade", downgrade))
    assert world.plans.get("sub_0001").pending_change is not None
    withdrawn = envelope(world.handle("Subscriptions/UpgradeDowngrade", upgrade))

    assert scheduled["Message"] == again["Message"]
    assert (
        scheduled["Message"] == "subscription sub_0001 moves to Free on 2026-02-01T00:00:00+00:00"
    )
    assert withdrawn["Code"] == 0
    assert "the scheduled change to Free was withdrawn" in withdrawn["Message"]
    sub = world.plans.get("sub_0001")
    assert (sub.plan, sub.pending_change) == (Plan.STANDARD, None)


def test_a_plan_change_of_a_suspended_subscription_is_refused_in_the_precheck() -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body(plan="Free")))
    envelope(world.handle("Subscriptions/Suspend", _cancel_body()))
    body = fixture("sm_subscriptions_update")
    body["CheckOnly"] = True
    before = world.snapshot()

    answer = envelope(world.handle("Subscriptions/Update", body))

    assert answer["Code"] == ResultCode.ILLEGAL_STATE
    assert "cannot change_plan a subscription that is suspended" in answer["Message"]
    assert world.snapshot() == before


def test_a_create_of_standard_for_a_free_reseller_upgrades_its_subscription() -> None:
    world = World()
    free = envelope(world.handle("Subscriptions/Create", create_body(plan="Free")))

    standard = envelope(
        world.handle("Subscriptions/Create", create_body(alias=None, subscription_id="P-2"))
    )

    assert (standard["Code"], standard["Result"]) == (0, free["Result"])
    assert world.plans.plan_of(TECHSOLUTIONS) is Plan.STANDARD


def test_the_same_platform_subscription_created_with_another_alias_is_a_conflict() -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body()))
    before = world.snapshot()

    answer = envelope(world.handle("Subscriptions/Create", create_body(alias="othername")))

    assert answer["Code"] == ResultCode.CONFLICT
    assert world.snapshot() == before


def test_a_late_duplicate_create_after_cancellation_answers_the_same_result() -> None:
    world = World()
    first = envelope(world.handle("Subscriptions/Create", create_body()))
    envelope(world.handle("Subscriptions/Cancel", _cancel_body()))
    before = world.snapshot()

    late = envelope(world.handle("Subscriptions/Create", create_body()))

    assert (late["Code"], late["Result"]) == (0, first["Result"])
    assert world.snapshot() == before


def test_a_cancel_precheck_changes_nothing() -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body()))
    before = world.snapshot()

    answer = envelope(world.handle("Subscriptions/Cancel", _cancel_body(), query="checkonly=1"))

    assert (answer["Code"], answer["Result"]) == (0, None)
    assert world.snapshot() == before


def test_a_subscription_of_another_distributor_is_forbidden() -> None:
    world = World()
    other = world.plans.upgrade(
        NORTHWIND, Plan.FREE, actor=Actor.distributor(OTHER_DISTRIBUTOR), alias="northwind"
    )
    before = world.snapshot()

    answer = envelope(world.handle("Subscriptions/Cancel", _cancel_body(other.id)))

    assert answer["Code"] == ResultCode.FORBIDDEN
    assert world.snapshot() == before


def test_a_subscription_call_without_any_id_is_a_bad_request() -> None:
    world = World()
    body = _cancel_body()
    body["ID"] = None
    body["SubscriptionID"] = None

    answer = envelope(world.handle("Subscriptions/Suspend", body))

    assert answer["Code"] == ResultCode.BAD_REQUEST
    assert "ID (the service manager's subscription id) is required" in answer["Message"]


# ---------------------------------------------------------------------- accounts


def test_a_synchronize_precheck_from_the_query_string_records_nothing() -> None:
    world = World()

    answer = envelope(
        world.handle(
            "Accounts/Synchronize", fixture("sm_accounts_synchronize"), query="CheckOnly=true"
        )
    )

    assert (answer["Code"], answer["Result"]) == (0, None)
    assert world.directory.accounts == {}


def test_the_account_reader_gets_the_platforms_token_and_settings() -> None:
    seen: list[PlatformCall] = []
    world = World()

    def reader(account_id: str, call: PlatformCall) -> ResellerAccount:
        seen.append(call)
        return world.bss.get_account(account_id)

    world.service_manager.account_reader = reader
    request_headers = headers(
        X_CloudPlatform_Token="bss-token-123",
        X_CloudPlatform_BaseUri="https://bss.example",
        X_CloudPlatform_Setting_Regions="eu|us",
    )

    envelope(
        world.handle(
            "Accounts/Synchronize",
            fixture("sm_accounts_synchronize"),
            request_headers=request_headers,
        )
    )

    (call,) = seen
    assert call.route == "Accounts/Synchronize"
    assert call.platform_token == "bss-token-123"
    assert call.platform_base_uri == "https://bss.example"
    assert call.settings["regions"] == ("eu", "us")
    assert call.setting("distributorcode") == "D-100"
    assert call.track_id == HEADERS["X-CloudPlatform-TrackId"]
    assert "bss-token-123" not in repr(call)


# ---------------------------------------------------------------------- authentication and logs


def test_the_api_key_and_token_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    caplog.set_level(logging.DEBUG)
    with_token = headers(X_CloudPlatform_Token="canary-token-4711")
    wrong = headers(X_CloudPlatform_APIKey=base64.b64encode(b"canary-wrong-key").decode())

    world.handle("Subscriptions/Create", create_body(), request_headers=with_token)
    world.handle("Subscriptions/Create", create_body(), request_headers=wrong)
    world.service_manager.account_reader = lambda account_id, call: 1 / 0  # type: ignore[assignment,return-value]
    world.handle(
        "Accounts/Synchronize", fixture("sm_accounts_synchronize"), request_headers=with_token
    )

    text = "\n".join(
        record.getMessage() + str(record.args) + str(record.exc_info) for record in caplog.records
    )
    assert caplog.records
    for secret in (API_KEY, HEADERS["X-CloudPlatform-APIKey"], "canary-token-4711", "canary-wrong"):
        assert secret not in text
    assert "refused" in text
    assert HEADERS["X-CloudPlatform-TrackId"] in text


def test_credential_headers_sent_twice_are_refused() -> None:
    world = World()
    pairs = [(name, value) for name, value in HEADERS.items()]
    pairs.append(("x-cloudplatform-apikey", HEADERS["X-CloudPlatform-APIKey"]))

    response = world.service_manager.handle("GET", "/Fields/Get", pairs, b"")

    assert response.status == 401


def test_credentials_refuse_emptiness_and_hide_their_keys() -> None:
    credentials = Credentials({APP_ID: API_KEY})

    assert API_KEY not in repr(credentials)
    assert credentials.authenticate(header_values(HEADERS)) == APP_ID
    for bad in ({}, {"": "key"}, {"app": ""}):
        with pytest.raises(InvalidInput):
            Credentials(bad)


def test_a_service_manager_needs_a_sensible_body_limit() -> None:
    world = World()

    with pytest.raises(InvalidInput):
        ServiceManager(
            world.plans, credentials={APP_ID: API_KEY}, distributor_id="D-100", max_body_bytes=10
        )


# ---------------------------------------------------------------------- body limits and parsing


@pytest.mark.parametrize(
    ("content_length", "body", "message"),
    [
        ("70000", b"{}", "the body is larger than 65536 bytes"),
        ("99999999999999999999999", b"{}", "the body is larger than 65536 bytes"),
        ("2", b'{"Padding": "' + b"x" * 70000 + b'"}', "the body is larger than 65536 bytes"),
        ("ten", b"{}", "Content-Length is not a number"),
    ],
)
def test_the_body_size_is_checked_before_parsing(
    content_length: str, body: bytes, message: str
) -> None:
    world = World()
    request_headers = headers(Content_Length=content_length)

    answer = envelope(
        world.handle("Subscriptions/Create", raw=body, request_headers=request_headers)
    )

    assert answer["Message"] == f"bad request: {message}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "the body is empty"),
        (b"\xff\xfe", "the body is not UTF-8 text"),
        (b"[" * 5000 + b"]" * 5000, "the body is not JSON this service manager can read"),
        (b'{"Quantity": NaN}', "the body is not JSON this service manager can read"),
        (b'{"Quantity": 1' + b"0" * 5000 + b"}", "the body is not JSON this service manager"),
    ],
    ids=["empty", "not utf-8", "too deep", "nan", "huge number"],
)
def test_bodies_that_are_not_readable_json_are_bad_requests(raw: bytes, message: str) -> None:
    world = World()

    answer = envelope(world.handle("Subscriptions/Create", raw=raw))

    assert answer["Code"] == ResultCode.BAD_REQUEST
    assert answer["Message"].startswith(f"bad request: {message}")


def test_a_body_with_a_bom_and_numeric_ids_is_read() -> None:
    world = World()
    body = create_body()
    body["Account"]["ID"] = 3542
    raw = b"\xef\xbb\xbf" + json.dumps(body).encode()

    answer = envelope(world.handle("Subscriptions/Create", raw=raw))

    assert (answer["Code"], answer["Result"]) == (0, "sub_0001")


@pytest.mark.parametrize(
    ("cycle", "expected"),
    [
        ({"Duration": "1", "DurationType": "Month"}, BillingCycle.MONTHLY),
        ({"Duration": 12, "DurationType": "months"}, BillingCycle.ANNUAL),
        ({"Duration": "1", "DurationType": "Year"}, BillingCycle.ANNUAL),
        ({"Duration": "3", "DurationType": "Year"}, None),
        ({"Duration": "²", "DurationType": "Month"}, None),
        (None, None),
    ],
)
def test_the_billing_cycle_is_read_when_its_vocabulary_is_known(
    cycle: dict[str, Any] | None, expected: BillingCycle | None
) -> None:
    request = parse_service_request(load_json(_json({"BillingCycle": cycle}), limit=1000))

    assert request.billing_cycle is expected


def test_an_annual_create_starts_an_annual_term() -> None:
    world = World()
    body = create_body()
    body["BillingCycle"] = {"Duration": "1", "DurationType": "Annually"}

    envelope(world.handle("Subscriptions/Create", body))

    term = world.plans.get("sub_0001").term
    assert term.end - term.start == dt.timedelta(days=365)


def test_attribute_lists_sent_as_arrays_are_read_too() -> None:
    request = parse_service_request(
        load_json(
            _json({"AttributeList": [{"ID": "StorefrontAlias", "Value": "x1y"}, None]}), limit=999
        )
    )

    attribute = request.attribute("storefrontalias")
    assert attribute is not None
    assert attribute.value == "x1y"


@pytest.mark.parametrize(
    "body",
    [
        {"AttributeList": [{"Value": "x"}]},
        {"AttributeList": {"StorefrontAlias": {"Value": ["x"]}}},
        {"ID": True},
        {"Account": {"ID": 1.5}},
        {"BillingCycle": "monthly"},
        {"RequestedBy": []},
    ],
)
def test_wrong_types_where_we_read_are_bad_requests(body: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        parse_service_request(load_json(_json(body), limit=999))


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


# ---------------------------------------------------------------------- routes


@pytest.mark.parametrize(
    ("path", "name", "supported"),
    [
        ("/api/ResellerPlans/Subscriptions/Create", "Subscriptions/Create", True),
        ("subscriptions/upgradedowngrade/", "Subscriptions/UpgradeDowngrade", True),
        ("/x/FIELDS/SERVICEDEFINITION?ignored=1", "Fields/ServiceDefinition", True),
        ("/Accounts/IsReseller", "Accounts/IsReseller", False),
        ("/api/Users/Service/Delete", "Users/Delete", False),
        ("/api/addon/update", "Addons/Update", False),
    ],
)
def test_find_route_matches_the_last_segments(path: str, name: str, supported: bool) -> None:
    route = find_route(path)

    assert route is not None
    assert (route.name, route.supported) == (name, supported)


@pytest.mark.parametrize("path", ["", "/", "/Create", "/api/Subscriptions/Explode", "/a/b/c"])
def test_find_route_knows_no_other_paths(path: str) -> None:
    assert find_route(path) is None


# ---------------------------------------------------------------------- more paths


def test_a_precheck_while_an_upgrade_is_under_way_says_so_and_changes_nothing() -> None:
    world = World()
    world.bss.faults.crash("bss.provision_license")
    with pytest.raises(SimulatedCrash):
        world.handle("Subscriptions/Create", create_body())
    before = world.snapshot()

    answer = envelope(world.handle("Subscriptions/Create", create_body(check_only=True)))

    assert answer["Code"] == ResultCode.ILLEGAL_STATE
    assert (
        "UPGRADE_UNDER_WAY: an upgrade of account 3542 is under way (sub_0001)"
        in (answer["Message"])
    )
    assert world.snapshot() == before


def test_a_plan_change_waiting_for_a_retry_is_resumed_by_its_redelivery() -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body(plan="Free")))
    world.bss.faults.fail("bss.provision_license", times=3)

    first = envelope(world.handle("Subscriptions/Update", fixture("sm_subscriptions_update")))
    second = envelope(world.handle("Subscriptions/Update", fixture("sm_subscriptions_update")))

    assert first["Code"] == ResultCode.BACKEND_UNAVAILABLE
    assert (second["Code"], second["Result"]) == (0, "sub_0001")
    assert world.licensed_plan() is Plan.STANDARD


def test_a_cancellation_waiting_for_a_retry_is_resumed_by_its_redelivery() -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body()))
    world.bss.faults.fail("bss.revoke_license", times=3)

    first = envelope(world.handle("Subscriptions/Cancel", _cancel_body()))
    second = envelope(world.handle("Subscriptions/Cancel", _cancel_body()))

    assert first["Code"] == ResultCode.BACKEND_UNAVAILABLE
    assert second["Code"] == 0
    assert world.plans.plan_of(TECHSOLUTIONS) is Plan.BASIC
    assert world.licensed_plan() is Plan.BASIC


def test_a_resumption_waiting_for_a_retry_is_resumed_by_its_redelivery() -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body()))
    envelope(world.handle("Subscriptions/Suspend", _cancel_body()))
    world.bss.faults.fail("storefront.resume_storefront", times=3)

    first = envelope(world.handle("Subscriptions/Activate", _cancel_body()))
    second = envelope(world.handle("Subscriptions/Activate", _cancel_body()))

    assert first["Code"] == ResultCode.BACKEND_UNAVAILABLE
    assert second["Code"] == 0
    assert world.storefront.storefronts[TECHSOLUTIONS].online is True


def test_subscriptions_are_found_by_the_platforms_id_after_the_directory_is_lost() -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body()))
    fresh = ServiceManager(world.plans, credentials={APP_ID: API_KEY}, distributor_id="D-100")
    body = _cancel_body()
    body["ID"] = None

    response = fresh.handle("POST", "/Subscriptions/Suspend", HEADERS, json.dumps(body).encode())

    assert (envelope(response)["Code"], envelope(response)["Result"]) == (0, "sub_0001")


@pytest.mark.parametrize(
    ("route", "code"),
    [
        ("Subscriptions/Suspend", ResultCode.ILLEGAL_STATE),
        ("Subscriptions/Activate", ResultCode.ILLEGAL_STATE),
        ("Subscriptions/Cancel", ResultCode.OK),
        ("Subscriptions/Update", ResultCode.ILLEGAL_STATE),
    ],
)
def test_prechecks_on_a_cancelled_subscription(route: str, code: ResultCode) -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body(plan="Free")))
    envelope(world.handle("Subscriptions/Cancel", _cancel_body()))
    body = fixture("sm_subscriptions_update")
    body["CheckOnly"] = True
    before = world.snapshot()

    answer = envelope(world.handle(route, body))

    assert answer["Code"] == code
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("product", "message"),
    [("ResellerPlanFree", "is on Free already"), ("ResellerPlanStandard", "may move to Standard")],
)
def test_an_update_precheck_of_an_allowed_change_is_fine(product: str, message: str) -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body(plan="Free")))
    body = fixture("sm_subscriptions_update")
    body["CheckOnly"] = True
    body["ProductID"] = product
    del body["AttributeList"]["ResellerPlan"]
    before = world.snapshot()

    answer = envelope(world.handle("Subscriptions/Update", body))

    assert answer["Code"] == 0
    assert message in answer["Message"]
    assert world.snapshot() == before


def test_a_bss_that_refuses_for_good_answers_1011() -> None:
    world = World()
    world.bss.faults.fail("bss.get_account", permanent=True)

    answer = envelope(world.handle("Subscriptions/Create", create_body()))

    assert answer["Code"] == ResultCode.BACKEND_REFUSED
    assert answer["Message"].startswith("a backend refused the request: injected permanent")


def test_accounts_exists_finds_an_account_by_our_id_too() -> None:
    world = World()
    envelope(world.handle("Accounts/Synchronize", fixture("sm_accounts_synchronize")))

    answer = envelope(world.handle("Accounts/Exists", {"ExternalID": TECHSOLUTIONS}))

    assert (answer["Code"], answer["Result"]) == (ResultCode.EXISTS, TECHSOLUTIONS)


def test_a_synchronize_without_the_account_id_is_a_bad_request() -> None:
    world = World()

    answer = envelope(world.handle("Accounts/Synchronize", {"ExternalID": TECHSOLUTIONS}))

    assert answer["Code"] == ResultCode.BAD_REQUEST
    assert "ID (the platform's account id) is required" in answer["Message"]


@pytest.mark.parametrize("check_only", [True, False])
def test_a_create_of_standard_for_a_free_reseller_keeps_its_alias(check_only: bool) -> None:
    world = World()
    envelope(world.handle("Subscriptions/Create", create_body(plan="Free")))
    body = create_body(alias="different", subscription_id="P-2", check_only=check_only)
    before = world.snapshot()

    answer = envelope(world.handle("Subscriptions/Create", body))

    assert answer["Code"] == ResultCode.ILLEGAL_STATE
    assert "the alias stays 'techsolutions'" in answer["Message"]
    assert world.snapshot() == before
