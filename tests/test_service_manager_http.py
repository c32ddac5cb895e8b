"""The service manager over real HTTP: uvicorn serves the ASGI app on loopback, httpx calls it as
the platform would, and the in-memory world behind it shows what each call changed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from reseller_plans import Edition, Plan, ServiceManagerState
from reseller_plans.domain.subscription import SubscriptionStatus
from reseller_plans.service_manager import ResultCode
from service_manager_world import (
    ACME,
    API_KEY,
    APP_ID,
    BRIGHT_SHOP,
    CLOUDY_BITS,
    HEADERS,
    NORTHWIND,
    TECHSOLUTIONS,
    Switch,
    World,
    create_body,
    fixture,
    headers,
    serve_on_loopback,
)

BASE_PATH = "/api/ResellerPlans"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Switch, str]]:
    with serve_on_loopback() as served:
        yield served


@pytest.fixture
def world(server: tuple[Switch, str]) -> World:
    world = World()
    server[0].target = world.service_manager
    return world


@pytest.fixture
def client(server: tuple[Switch, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[1] + BASE_PATH, headers=HEADERS, timeout=15) as client:
        yield client


def _envelope(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"Code", "Message", "Result"}, body
    return body  # type: ignore[no-any-return]


def _create(client: httpx.Client, **changes: Any) -> dict[str, Any]:
    return _envelope(client.post("Subscriptions/Create", json=create_body(**changes)))


def _with_id(name: str, subscription_id: str) -> dict[str, Any]:
    body = fixture(name)
    body["ID"] = subscription_id
    return body  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- Fields/*


def test_get_services_definition_answers_the_fixture_product_type(
    world: World, client: httpx.Client
) -> None:
    response = client.get("Fields/ServiceDefinition")

    assert response.status_code == 200
    assert response.json() == fixture("sm_fields_servicedefinition_response")


def test_get_services_definition_declares_the_plans_the_platform_imports(
    world: World, client: httpx.Client
) -> None:
    (product_type,) = client.get("Fields/ServiceDefinition").json()["ProductTypes"]

    assert product_type["ID"] == "ResellerPlans"
    assert product_type["Derivative"] == 1
    assert product_type["Scope"] == 1
    assert (product_type["QuantityLimit"], product_type["QuantityLimitLocked"]) == (1, True)
    assert product_type["AllowMultipleSubscriptions"] is False
    attributes = {a["ID"]: a for a in product_type["AttributeList"]}
    assert attributes["StorefrontAlias"]["Usage"] == "OrderCharacteristic"
    assert attributes["StorefrontAlias"]["Kind"] == "Text"
    assert attributes["StorefrontAlias"]["IsRequired"] is True
    assert attributes["ResellerPlan"]["Usage"] == "ProductCharacteristic"
    assert attributes["ResellerPlan"]["Kind"] == "PredefinedChooseOne"
    assert [v["Code"] for v in attributes["ResellerPlan"]["PredefinedValues"]] == [
        "ResellerPlan_Free",
        "ResellerPlan_Standard",
    ]
    free, standard = product_type["ProductsCollection"]["Products"]
    assert (free["ID"], standard["ID"]) == ("ResellerPlanFree", "ResellerPlanStandard")
    assert free["RelatedProducts"] == [{"ProductID": "ResellerPlanStandard", "Relation": 5}]
    assert standard["RelatedProducts"] == []
    assert all(unit["Price"] == 0 for price in free["Prices"] for unit in price["Units"]), free[
        "Prices"
    ]
    for product in (free, standard):
        assert product["UnitBillingCycles"] == [0, 1]
        assert product["Attributes"][0]["ID"] == "ResellerPlan"


def test_fields_get_lists_the_settings_the_partner_fills_in(
    world: World, client: httpx.Client
) -> None:
    fields = client.get("Fields/Get").json()["Fields"]

    assert [f["ID"] for f in fields] == ["StorefrontBaseUrl", "DistributorCode"]
    assert all(f["Definition"]["IsRequired"] for f in fields)
    assert fields[0]["Definition"]["Kind"] == 2  # Url


def test_fields_validate_accepts_the_fixture_settings(world: World, client: httpx.Client) -> None:
    response = client.post("Fields/Validate", json=fixture("sm_fields_validate"))

    assert response.status_code == 200
    assert response.json() == []


def test_fields_validate_lists_every_problem_as_a_sentence(
    world: World, client: httpx.Client
) -> None:
    body = {"Fields": [{"ID": "storefrontbaseurl", "Value": "ftp://x"}, {"ID": "Other"}]}

    problems = client.post("Fields/Validate", json=body).json()

    assert len(problems) == 2
    assert "StorefrontBaseUrl must be an http or https address" in problems[0]
    assert problems[1] == "DistributorCode is required."


def test_fields_validate_answers_a_malformed_body_with_an_error_string(
    world: World, client: httpx.Client
) -> None:
    response = client.post("Fields/Validate", content=b"{not json")

    assert response.status_code == 200
    assert response.json()[0].startswith("bad request: the body is not valid JSON")


# ---------------------------------------------------------------------- Accounts/*


def test_synchronize_records_the_account_with_the_reselling_flag_read_from_the_bss(
    world: World, client: httpx.Client
) -> None:
    answer = _envelope(client.post("Accounts/Synchronize", json=fixture("sm_accounts_synchronize")))

    assert answer["Code"] == 0
    assert answer["Result"] == TECHSOLUTIONS
    record = world.directory.accounts[TECHSOLUTIONS]
    assert record.reselling_enabled is True
    assert record.external_id == TECHSOLUTIONS
    assert record.synchronized_at == world.clock.now()


def test_synchronize_of_an_account_without_reselling_says_it_cannot_get_a_plan(
    world: World, client: httpx.Client
) -> None:
    body = fixture("sm_accounts_synchronize")
    body["ID"] = CLOUDY_BITS

    answer = _envelope(client.post("Accounts/Synchronize", json=body))

    assert answer["Code"] == 0
    assert "not marked as a reseller" in answer["Message"]
    assert world.directory.accounts[CLOUDY_BITS].reselling_enabled is False


def test_synchronize_of_an_account_the_bss_does_not_know_is_not_found(
    world: World, client: httpx.Client
) -> None:
    answer = _envelope(client.post("Accounts/Synchronize", json={"ID": "9999"}))

    assert answer["Code"] == ResultCode.NOT_FOUND
    assert world.directory.accounts == {}


def test_accounts_exists_finds_a_synchronized_account(world: World, client: httpx.Client) -> None:
    before = _envelope(client.post("Accounts/Exists", json={"ID": TECHSOLUTIONS}))
    client.post("Accounts/Synchronize", json=fixture("sm_accounts_synchronize"))
    after = _envelope(client.post("Accounts/Exists", json={"ID": TECHSOLUTIONS}))

    assert (before["Code"], before["Result"]) == (0, None)
    assert (after["Code"], after["Result"]) == (ResultCode.EXISTS, TECHSOLUTIONS)


def test_sync_options_and_additional_info_answer_empty_models(
    world: World, client: httpx.Client
) -> None:
    assert client.get("Accounts/SyncOptions").json() == {"Fields": []}
    assert client.get("Fields/AdditionalInfo").json() == {}


# ---------------------------------------------------------------------- the pre-check


def test_precheck_of_an_eligible_reseller_answers_code_0_and_changes_nothing(
    world: World, client: httpx.Client
) -> None:
    before = world.snapshot()

    answer = _envelope(
        client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_checkonly"))
    )

    assert answer == {
        "Code": 0,
        "Message": "account 3542 may have the Standard plan",
        "Result": None,
    }
    assert world.snapshot() == before


PRECHECK_FAILURES: dict[str, tuple[Callable[[World], dict[str, Any]], ResultCode, str]] = {
    "edition": (
        lambda w: (w.change_distributor(edition=Edition.PROFESSIONAL), create_body())[1],
        ResultCode.NOT_ELIGIBLE,
        "EDITION_NOT_ELIGIBLE: the distributor organization is on the Professional edition",
    ),
    "add-on": (
        lambda w: (w.change_distributor(active_addons=frozenset()), create_body())[1],
        ResultCode.NOT_ELIGIBLE,
        "ADDON_INACTIVE: the Standard Edition Resellers add-on is not active",
    ),
    "service manager": (
        lambda w: (
            w.change_distributor(service_manager=ServiceManagerState.INACTIVE),
            create_body(),
        )[1],
        ResultCode.NOT_ELIGIBLE,
        "SERVICE_MANAGER_INACTIVE: the for Resellers Service Manager is inactive",
    ),
    "product missing": (
        lambda w: (
            w.change_distributor(plan_products={Plan.FREE: "ResellerPlanFree"}),
            create_body(),
        )[1],
        ResultCode.NOT_ELIGIBLE,
        "PLAN_PRODUCT_MISSING: the Standard plan product is not in the product catalog",
    ),
    "reselling disabled": (
        lambda w: create_body(account=CLOUDY_BITS, alias="cloudybits"),
        ResultCode.NOT_ELIGIBLE,
        "RESELLING_DISABLED: account 3543 is not marked as a reseller",
    ),
    "not the distributor's account": (
        lambda w: create_body(account=NORTHWIND, alias="northwind"),
        ResultCode.NOT_ELIGIBLE,
        "NOT_DISTRIBUTORS_ACCOUNT: account 3546 does not belong to distributor D-100",
    ),
    "illegal move": (
        lambda w: (
            w.plans.upgrade(ACME, Plan.STANDARD, actor=w.distributor, alias="acme"),
            create_body(account=ACME, alias="acme-two"),
        )[1],
        ResultCode.NOT_ELIGIBLE,
        "ILLEGAL_MOVE: Standard → Standard is not a legal move",
    ),
    "invalid alias": (
        lambda w: create_body(alias="ad"),
        ResultCode.INVALID_ALIAS,
        "INVALID_ALIAS: invalid Storefront Alias 'ad': must be at least 3 characters long",
    ),
    "missing alias": (
        lambda w: create_body(alias=None),
        ResultCode.INVALID_ALIAS,
        "INVALID_ALIAS: a Storefront Alias is required",
    ),
    "alias taken": (
        lambda w: (w.give_alias_to("techsolutions", BRIGHT_SHOP), create_body())[1],
        ResultCode.ALIAS_TAKEN,
        "ALIAS_TAKEN: the Storefront Alias 'techsolutions' is taken",
    ),
}


@pytest.mark.parametrize("failure", list(PRECHECK_FAILURES))
def test_precheck_refuses_each_failing_criterion_by_name_and_changes_nothing(
    world: World, client: httpx.Client, failure: str
) -> None:
    arrange, code, text = PRECHECK_FAILURES[failure]
    body = arrange(world)
    body["CheckOnly"] = True
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Create", json=body))

    assert answer["Code"] == code
    assert text in answer["Message"]
    assert "(fix: " in answer["Message"]
    assert answer["Result"] is None
    assert world.snapshot() == before  # no subscription, order, license, storefront or email


def test_precheck_lists_every_failure_at_once(world: World, client: httpx.Client) -> None:
    world.change_distributor(edition=Edition.ENTERPRISE, active_addons=frozenset())
    world.give_alias_to("cloudybits", TECHSOLUTIONS)
    body = create_body(account=CLOUDY_BITS, alias="cloudybits", check_only=True)
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Create", json=body))

    assert answer["Code"] == ResultCode.NOT_ELIGIBLE
    listed = [part.split(":")[0] for part in answer["Message"].split(": ", 1)[1].split("; ")]
    assert listed == ["EDITION_NOT_ELIGIBLE", "ADDON_INACTIVE", "RESELLING_DISABLED", "ALIAS_TAKEN"]
    assert world.snapshot() == before


def test_precheck_is_honoured_from_the_query_string(world: World, client: httpx.Client) -> None:
    before = world.snapshot()

    answer = _envelope(
        client.post("Subscriptions/Create", params={"CHECKONLY": "True"}, json=create_body())
    )

    assert (answer["Code"], answer["Result"]) == (0, None)
    assert world.snapshot() == before


def test_precheck_of_an_unknown_account_is_not_found(world: World, client: httpx.Client) -> None:
    answer = _create(client, account="9999", check_only=True)

    assert answer["Code"] == ResultCode.NOT_FOUND


# ---------------------------------------------------------------------- Subscriptions/Create


def test_create_provisions_the_plan_and_answers_our_subscription_id(
    world: World, client: httpx.Client
) -> None:
    answer = _create(client)

    assert answer == {
        "Code": 0,
        "Message": "the Standard plan is active for account 3542",
        "Result": "sub_0001",
    }
    sub = world.plans.get("sub_0001")
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.platform_subscription_id == "5f0c6a1e-8d7b-4c2e-9a51-3b7e2d4c9f10"
    assert world.licensed_plan() is Plan.STANDARD
    assert world.storefront.storefronts[TECHSOLUTIONS].alias == "techsolutions"
    assert [m.to for m in world.mailer.sent] == [("admin@techsolutions.example",)]
    assert world.bss.orders == {}  # the platform executed the order itself


def test_create_delivered_twice_answers_the_same_result_and_provisions_once(
    world: World, client: httpx.Client
) -> None:
    first = _create(client)
    state = world.snapshot()

    second = _create(client)

    assert second == first
    assert world.snapshot() == state
    assert len(world.subscriptions()) == 1
    assert len(world.mailer.sent) == 1


def test_create_delivered_concurrently_provisions_once(world: World, client: httpx.Client) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: _create(client), range(4)))

    assert {a["Result"] for a in answers} == {"sub_0001"}
    assert {a["Code"] for a in answers} == {0}
    assert len(world.subscriptions()) == 1
    assert len(world.mailer.sent) == 1


def test_create_of_the_free_plan_ordered_in_the_bss(world: World, client: httpx.Client) -> None:
    answer = _envelope(
        client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))
    )

    assert (answer["Code"], answer["Result"]) == (0, "sub_0001")
    assert world.plans.plan_of(TECHSOLUTIONS) is Plan.FREE


@pytest.mark.parametrize(
    ("arrange", "code", "text"),
    [
        (
            lambda w: (w.change_distributor(edition=Edition.PROFESSIONAL), create_body())[1],
            ResultCode.NOT_ELIGIBLE,
            "EDITION_NOT_ELIGIBLE",
        ),
        (
            lambda w: (w.give_alias_to("techsolutions", ACME), create_body())[1],
            ResultCode.ALIAS_TAKEN,
            "the Storefront Alias 'techsolutions' is taken",
        ),
        (lambda w: create_body(alias="--x"), ResultCode.INVALID_ALIAS, "invalid Storefront Alias"),
        (lambda w: create_body(alias=None), ResultCode.INVALID_ALIAS, "is required"),
        (
            lambda w: create_body(account=NORTHWIND, alias="northwind"),
            ResultCode.FORBIDDEN,
            "not a reseller of distributor D-100",
        ),
        (
            lambda w: {**create_body(), "SubscriptionID": None},
            ResultCode.BAD_REQUEST,
            "bad request: SubscriptionID (the platform's subscription id) is required",
        ),
    ],
    ids=["not eligible", "alias taken", "invalid alias", "no alias", "other's account", "no id"],
)
def test_create_refusals_answer_their_code_and_change_nothing(
    world: World,
    client: httpx.Client,
    arrange: Callable[[World], dict[str, Any]],
    code: ResultCode,
    text: str,
) -> None:
    body = arrange(world)
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Create", json=body))

    assert answer["Code"] == code
    assert text in answer["Message"]
    assert world.snapshot() == before


# ---------------------------------------------------------------------- plan changes


def test_update_moves_free_to_standard_at_once(world: World, client: httpx.Client) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))

    answer = _envelope(client.post("Subscriptions/Update", json=fixture("sm_subscriptions_update")))

    assert answer == {
        "Code": 0,
        "Message": "subscription sub_0001 is on the Standard plan now",
        "Result": "sub_0001",
    }
    assert world.plans.plan_of(TECHSOLUTIONS) is Plan.STANDARD
    assert world.licensed_plan() is Plan.STANDARD
    assert world.mailer.sent[-1].kind.value == "plan_upgraded"


def test_upgrade_downgrade_moves_standard_to_free(world: World, client: httpx.Client) -> None:
    _create(client)
    body = _with_id("sm_subscriptions_update", "sub_0001")
    body["ProductID"] = "ResellerPlanFree"
    body["AttributeList"]["ResellerPlan"]["Code"] = "Free"
    body["ActionType"] = "Downgrade"

    answer = _envelope(client.post("Subscriptions/UpgradeDowngrade", json=body))

    assert (answer["Code"], answer["Result"]) == (0, "sub_0001")
    assert world.plans.plan_of(TECHSOLUTIONS) is Plan.FREE
    assert world.licensed_plan() is Plan.FREE


def test_update_to_the_plan_it_has_changes_nothing(world: World, client: httpx.Client) -> None:
    _create(client)
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Update", json=fixture("sm_subscriptions_update")))

    assert answer["Code"] == 0
    assert "on Standard already" in answer["Message"]
    assert world.snapshot() == before


def test_update_refuses_to_change_the_alias(world: World, client: httpx.Client) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))
    body = fixture("sm_subscriptions_update")
    body["AttributeList"]["StorefrontAlias"]["Value"] = "othername"
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Update", json=body))

    assert answer["Code"] == ResultCode.ILLEGAL_STATE
    assert "the alias stays 'techsolutions'" in answer["Message"]
    assert world.snapshot() == before


def test_update_precheck_lists_the_eligibility_failures_and_changes_nothing(
    world: World, client: httpx.Client
) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))
    world.change_distributor(active_addons=frozenset())
    body = fixture("sm_subscriptions_update")
    body["CheckOnly"] = True
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Update", json=body))

    assert answer["Code"] == ResultCode.NOT_ELIGIBLE
    assert "ADDON_INACTIVE" in answer["Message"]
    assert world.snapshot() == before


def test_update_of_an_unknown_product_is_refused(world: World, client: httpx.Client) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))
    body = fixture("sm_subscriptions_update")
    body["ProductID"] = "SomethingElse"
    del body["AttributeList"]["ResellerPlan"]

    answer = _envelope(client.post("Subscriptions/Update", json=body))

    assert answer["Code"] == ResultCode.UNKNOWN_PRODUCT
    assert answer["Message"].startswith("unknown product: ProductID 'SomethingElse'")


# ---------------------------------------------------------------------- suspend, activate, cancel


def test_suspend_then_activate_take_the_storefront_offline_and_back(
    world: World, client: httpx.Client
) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))

    suspended = _envelope(
        client.post("Subscriptions/Suspend", json=fixture("sm_subscriptions_suspend"))
    )
    assert (suspended["Code"], suspended["Result"]) == (0, "sub_0001")
    assert world.plans.get("sub_0001").status is SubscriptionStatus.SUSPENDED
    assert world.storefront.storefronts[TECHSOLUTIONS].online is False

    activated = _envelope(
        client.post("Subscriptions/Activate", json=fixture("sm_subscriptions_activate"))
    )
    assert (activated["Code"], activated["Result"]) == (0, "sub_0001")
    assert world.plans.get("sub_0001").status is SubscriptionStatus.ACTIVE
    assert world.storefront.storefronts[TECHSOLUTIONS].online is True


def test_suspend_delivered_twice_answers_code_0_both_times(
    world: World, client: httpx.Client
) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))
    client.post("Subscriptions/Suspend", json=fixture("sm_subscriptions_suspend"))
    before = world.snapshot()

    body = fixture("sm_subscriptions_suspend")
    again = _envelope(client.post("Subscriptions/Suspend", json=body))

    assert again["Code"] == 0
    assert world.snapshot() == before


def test_activate_precheck_of_an_active_subscription_is_fine_and_changes_nothing(
    world: World, client: httpx.Client
) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))
    body = fixture("sm_subscriptions_activate")
    body["CheckOnly"] = True
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Activate", json=body))

    assert (answer["Code"], answer["Result"]) == (0, None)
    assert world.snapshot() == before


def test_cancel_reverts_the_reseller_to_basic(world: World, client: httpx.Client) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))

    answer = _envelope(client.post("Subscriptions/Cancel", json=fixture("sm_subscriptions_cancel")))

    assert answer == {
        "Code": 0,
        "Message": "subscription sub_0001 is cancelled; account 3542 is back on Basic",
        "Result": "sub_0001",
    }
    assert world.plans.plan_of(TECHSOLUTIONS) is Plan.BASIC
    assert world.licensed_plan() is Plan.BASIC
    assert TECHSOLUTIONS not in world.storefront.storefronts


def test_cancel_delivered_again_answers_code_0_and_changes_nothing(
    world: World, client: httpx.Client
) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))
    client.post("Subscriptions/Cancel", json=fixture("sm_subscriptions_cancel"))
    before = world.snapshot()

    again = _envelope(client.post("Subscriptions/Cancel", json=fixture("sm_subscriptions_cancel")))

    assert (again["Code"], again["Result"]) == (0, "sub_0001")
    assert world.snapshot() == before


def test_cancel_without_our_id_finds_the_subscription_by_the_platforms_id(
    world: World, client: httpx.Client
) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))
    body = _with_id("sm_subscriptions_cancel", "")

    answer = _envelope(client.post("Subscriptions/Cancel", json=body))

    assert (answer["Code"], answer["Result"]) == (0, "sub_0001")
    assert world.plans.get("sub_0001").status is SubscriptionStatus.CANCELLED


def test_cancel_before_its_create_arrived_is_not_found_and_changes_nothing(
    world: World, client: httpx.Client
) -> None:
    before = world.snapshot()

    body = fixture("sm_subscriptions_cancel")
    by_ours = _envelope(client.post("Subscriptions/Cancel", json=body))
    by_platforms = _envelope(
        client.post("Subscriptions/Cancel", json=_with_id("sm_subscriptions_cancel", ""))
    )

    assert by_ours["Code"] == by_platforms["Code"] == ResultCode.NOT_FOUND
    assert "has not been processed here; retry once it has" in by_platforms["Message"]
    assert world.snapshot() == before


def test_cancel_naming_another_account_is_refused(world: World, client: httpx.Client) -> None:
    client.post("Subscriptions/Create", json=fixture("sm_subscriptions_create_free"))
    body = fixture("sm_subscriptions_cancel")
    body["Account"]["ID"] = ACME
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Cancel", json=body))

    assert answer["Code"] == ResultCode.FORBIDDEN
    assert world.snapshot() == before


# ---------------------------------------------------------------------- not supported, routing


@pytest.mark.parametrize(
    ("route", "action"),
    [
        ("Subscriptions/UpgradeToPaid", "UpgradeToPaid"),
        ("Addons/Create", "Create"),
        ("Addons/Update", "Update"),
        ("addons/cancel", "Cancel"),
        ("Accounts/Delete", "Delete"),
        ("Users/Service/Create", "Create"),
        ("Ppu/usages", "Usages"),
    ],
)
def test_routes_reseller_plans_do_not_use_answer_not_supported(
    world: World, client: httpx.Client, route: str, action: str
) -> None:
    before = world.snapshot()

    answer = _envelope(client.post(route, json=fixture("sm_subscriptions_upgradetopaid")))

    assert answer == {
        "Code": -1,
        "Message": f"{action} functionality is not supported by default",
        "Result": None,
    }
    assert world.snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/ResellerPlans/Subscriptions/Create",
        "/api/ResellerPlans/subscriptions/create/",
        "/SUBSCRIPTIONS/CREATE",
        "/some/deeper/base/path/Subscriptions/Create//",
    ],
)
def test_routes_match_case_insensitively_under_any_base_path(
    world: World, server: tuple[Switch, str], path: str
) -> None:
    body = create_body(check_only=True)

    response = httpx.post(server[1] + path, json=body, headers=HEADERS, timeout=15)

    assert response.status_code == 200
    assert response.json()["Code"] == 0


def test_an_unknown_route_is_404_and_a_wrong_method_405(world: World, client: httpx.Client) -> None:
    assert client.post("Subscriptions/Explode", json={}).status_code == 404
    wrong = client.get("Subscriptions/Create")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"


# ---------------------------------------------------------------------- authentication


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@pytest.mark.parametrize(
    "changes",
    [
        {"X_CloudPlatform_APIKey": _b64(API_KEY + "x")},
        {"X_CloudPlatform_APIKey": API_KEY},  # the key itself, not its base64
        {"X_CloudPlatform_APIKey": "%%%not-base64%%%"},
        {"X_CloudPlatform_APIKey": None},
        {"X_CloudPlatform_ApplicationId": "00000000-0000-0000-0000-000000000000"},
        {"X_CloudPlatform_ApplicationId": None},
        {"X_CloudPlatform_ApplicationId": None, "X_CloudPlatform_APIKey": None},
    ],
    ids=["wrong key", "key not encoded", "undecodable", "no key", "unknown app", "no app", "none"],
)
def test_wrong_credentials_are_refused_with_401_and_change_nothing(
    world: World, server: tuple[Switch, str], changes: dict[str, str | None]
) -> None:
    before = world.snapshot()

    response = httpx.post(
        server[1] + BASE_PATH + "/Subscriptions/Create",
        json=create_body(),
        headers=headers(**changes),
        timeout=15,
    )

    assert response.status_code == 401
    assert response.content == b""
    assert world.snapshot() == before


def test_the_application_id_matches_case_insensitively(
    world: World, server: tuple[Switch, str]
) -> None:
    response = httpx.get(
        server[1] + BASE_PATH + "/Fields/Get",
        headers=headers(X_CloudPlatform_ApplicationId=APP_ID.upper()),
        timeout=15,
    )

    assert response.status_code == 200


def test_a_distributor_code_setting_naming_another_distributor_is_refused(
    world: World, client: httpx.Client
) -> None:
    before = world.snapshot()

    response = client.post(
        "Subscriptions/Create",
        json=create_body(),
        headers={"X-CloudPlatform-Setting-DistributorCode": "D-999"},
    )

    answer = _envelope(response)
    assert answer["Code"] == ResultCode.FORBIDDEN
    assert "names 'D-999'" in answer["Message"]
    assert world.snapshot() == before


# ---------------------------------------------------------------------- robustness over HTTP


def test_a_body_over_the_limit_is_refused_unread(world: World, client: httpx.Client) -> None:
    body = create_body()
    body["Padding"] = "x" * (70 * 1024)
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Create", json=body))

    assert answer["Code"] == ResultCode.BAD_REQUEST
    assert answer["Message"] == "bad request: the body is larger than 65536 bytes"
    assert world.snapshot() == before


def test_a_streamed_body_over_the_limit_is_refused(world: World, client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"Padding": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    answer = _envelope(client.post("Subscriptions/Create", content=chunks()))

    assert answer["Code"] == ResultCode.BAD_REQUEST
    assert "larger than 65536 bytes" in answer["Message"]


def test_keys_in_any_case_are_read_and_unknown_properties_ignored(
    world: World, client: httpx.Client
) -> None:
    def lower(value: Any) -> Any:
        if isinstance(value, dict):
            return {k.lower(): lower(v) for k, v in value.items()}
        return value

    body = lower(create_body())
    body["someFutureProperty"] = {"nested": [1, 2, 3]}

    answer = _envelope(client.post("Subscriptions/Create", json=body))

    assert (answer["Code"], answer["Result"]) == (0, "sub_0001")


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ([create_body()], "the body must be a JSON object"),
        ({**create_body(), "Account": "3542"}, "Account must be a JSON object"),
        ({**create_body(), "CheckOnly": "yes"}, "CheckOnly must be true or false"),
        ({**create_body(), "Quantity": 1.5}, "Quantity must be a whole number"),
        ({**create_body(), "AttributeList": "techsolutions"}, "AttributeList must be a JSON"),
        ({**create_body(), "Account": {"Name": "x"}}, "Account.ID (the platform's account id)"),
    ],
    ids=["array", "account text", "checkonly text", "quantity float", "attributes text", "no id"],
)
def test_malformed_bodies_answer_bad_request_and_change_nothing(
    world: World, client: httpx.Client, body: Any, what: str
) -> None:
    before = world.snapshot()

    answer = _envelope(client.post("Subscriptions/Create", json=body))

    assert answer["Code"] == ResultCode.BAD_REQUEST
    assert answer["Message"].startswith("bad request: ")
    assert what in answer["Message"]
    assert world.snapshot() == before


def test_response_envelopes_are_the_documented_ones(world: World, client: httpx.Client) -> None:
    expected = fixture("sm_response_envelopes")
    world.change_distributor(edition=Edition.PROFESSIONAL)
    refused = client.post("Subscriptions/Create", json=create_body(check_only=True)).json()
    world.change_distributor()

    actual = {
        "precheck_passed": client.post(
            "Subscriptions/Create", json=fixture("sm_subscriptions_create_checkonly")
        ).json(),
        "precheck_refused": refused,
        "created": client.post(
            "Subscriptions/Create", json=fixture("sm_subscriptions_create")
        ).json(),
        "not_supported": client.post(
            "Subscriptions/UpgradeToPaid", json=fixture("sm_subscriptions_upgradetopaid")
        ).json(),
        "validate_valid": client.post("Fields/Validate", json=fixture("sm_fields_validate")).json(),
        "validate_invalid": client.post("Fields/Validate", json={"Fields": []}).json(),
    }

    assert actual == expected
