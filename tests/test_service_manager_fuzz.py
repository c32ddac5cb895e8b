"""Whatever the platform (or anyone holding its credentials) sends, the service manager answers
with its contract: HTTP 200 and a well-formed answer, never a 500 and never a traceback; and an
answer with a non-zero ``Code`` changed nothing.

Most examples call ``ServiceManager.handle`` directly, for speed; a handful go over real HTTP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reseller_plans.service_manager import Response
from service_manager_world import HEADERS, Switch, World, fixture, serve_on_loopback

POST_ROUTES = [
    "Subscriptions/Create",
    "Subscriptions/Update",
    "Subscriptions/UpgradeDowngrade",
    "Subscriptions/Suspend",
    "Subscriptions/Activate",
    "Subscriptions/Cancel",
    "Subscriptions/UpgradeToPaid",
    "Accounts/Synchronize",
    "Accounts/Exists",
    "Addons/Create",
    "Fields/Validate",
]

FIXTURES_BY_ROUTE = {
    "Subscriptions/Create": ["sm_subscriptions_create", "sm_subscriptions_create_checkonly"],
    "Subscriptions/Update": ["sm_subscriptions_update"],
    "Subscriptions/UpgradeDowngrade": ["sm_subscriptions_update"],
    "Subscriptions/Suspend": ["sm_subscriptions_suspend"],
    "Subscriptions/Activate": ["sm_subscriptions_activate"],
    "Subscriptions/Cancel": ["sm_subscriptions_cancel"],
    "Accounts/Synchronize": ["sm_accounts_synchronize"],
    "Fields/Validate": ["sm_fields_validate"],
}

# Property names the handler reads, so random objects reach its typed paths, in any case.
KNOWN_KEYS = [
    "ID",
    "SubscriptionID",
    "ProductID",
    "ActionType",
    "Quantity",
    "Account",
    "AttributeList",
    "StorefrontAlias",
    "ResellerPlan",
    "Value",
    "Code",
    "CheckOnly",
    "BillingCycle",
    "Duration",
    "DurationType",
    "RequestedBy",
    "DisplayName",
    "ExternalID",
    "Name",
    "Email",
    "Fields",
]
keys = st.one_of(
    st.sampled_from(KNOWN_KEYS),
    st.sampled_from(KNOWN_KEYS).map(str.lower),
    st.text(max_size=12),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["sub_0001", "3542", "techsolutions", "ResellerPlan_Standard", "true", "1"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=6)
    ),
    max_leaves=25,
)

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class _Errors(logging.Handler):
    """Collects the ERROR records of the service manager: an unexpected exception logs one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def errors() -> Iterator[_Errors]:
    handler = _Errors()
    logger = logging.getLogger("reseller_plans.service_manager")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _world() -> World:
    """A world where TechSolutions is on the Free plan (sub_0001), so ids in bodies can hit."""
    world = World()
    world.handle("Subscriptions/Create", fixture("sm_subscriptions_create_free"))
    return world


def _assert_contract(route: str, status: int, body: bytes, changed: bool) -> None:
    assert status == 200, body
    assert b"Traceback" not in body
    assert b'File "' not in body
    answer = json.loads(body)
    if route == "Fields/Validate":
        assert isinstance(answer, list)
        assert all(isinstance(line, str) for line in answer)
        return
    assert set(answer) == {"Code", "Message", "Result"}
    assert isinstance(answer["Code"], int)
    assert isinstance(answer["Message"], str)
    assert answer["Result"] is None or isinstance(answer["Result"], str)
    event(f"Code {answer['Code']}")
    if answer["Code"] not in (0, 1):
        assert not changed, answer


def _check(world: World, route: str, response: Response, before: tuple[object, ...]) -> None:
    _assert_contract(route, response.status, response.body, world.snapshot() != before)


@FUZZ
@given(
    route=st.sampled_from(POST_ROUTES),
    body=json_values,
    query=st.sampled_from(["", "checkonly=true"]),
)
def test_any_json_value_gets_a_contract_answer(
    errors: _Errors, route: str, body: Any, query: str
) -> None:
    world = _world()
    before = world.snapshot()
    errors.records.clear()

    response = world.handle(route, body, query=query)

    _check(world, route, response, before)
    assert errors.records == []


@FUZZ
@given(route=st.sampled_from(POST_ROUTES), raw=st.binary(max_size=512))
def test_any_bytes_get_a_contract_answer(errors: _Errors, route: str, raw: bytes) -> None:
    world = _world()
    before = world.snapshot()
    errors.records.clear()

    response = world.handle(route, raw=raw)

    _check(world, route, response, before)
    assert errors.records == []


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists."""
    found: list[tuple[Any, ...]] = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutate(document: Any, data: st.DataObject) -> Any:
    path = data.draw(st.sampled_from(_paths(document)))
    operation = data.draw(st.sampled_from(["replace", "delete", "recase", "wrap"]))
    if not path:
        return data.draw(json_values) if operation == "replace" else [document]
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if operation == "replace":
        parent[last] = data.draw(json_values)
    elif operation == "wrap":
        parent[last] = [parent[last]]
    elif isinstance(parent, dict) and operation == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[last.swapcase()] = parent.pop(last)
    return document


@FUZZ
@given(route=st.sampled_from(sorted(FIXTURES_BY_ROUTE)), data=st.data())
def test_mutations_of_the_valid_fixtures_get_a_contract_answer(
    errors: _Errors, route: str, data: st.DataObject
) -> None:
    document = fixture(data.draw(st.sampled_from(FIXTURES_BY_ROUTE[route])))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        document = _mutate(document, data)
    world = _world()
    before = world.snapshot()
    errors.records.clear()

    response = world.handle(route, document)

    _check(world, route, response, before)
    assert errors.records == []


@FUZZ
@given(
    path=st.text(max_size=60),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "TRACE", "get"]),
    query=st.text(max_size=40),
    extra=st.dictionaries(
        st.sampled_from(["content-length", "x-cloudplatform-trackid", "x-cloudplatform-setting-x"])
        | st.text(min_size=1, max_size=20),
        st.text(max_size=40),
        max_size=3,
    ),
)
def test_any_path_method_query_and_headers_get_an_http_answer_not_a_500(
    errors: _Errors, path: str, method: str, query: str, extra: dict[str, str]
) -> None:
    world = _world()
    before = world.snapshot()
    errors.records.clear()
    request_headers = {**HEADERS, **extra}

    response = world.service_manager.handle(method, path, request_headers, b"{}", query)

    assert response.status in (200, 401, 404, 405)
    assert b"Traceback" not in response.body
    assert errors.records == []
    if response.status != 200:
        assert world.snapshot() == before


# ---------------------------------------------------------------------- a handful over HTTP


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Switch, str]]:
    with serve_on_loopback() as served:
        yield served


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route=st.sampled_from(POST_ROUTES),
    payload=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=256)),
)
def test_malformed_bodies_over_http_get_a_contract_answer(
    server: tuple[Switch, str], errors: _Errors, route: str, payload: bytes
) -> None:
    world = _world()
    server[0].target = world.service_manager
    before = world.snapshot()
    errors.records.clear()

    response = httpx.post(
        f"{server[1]}/api/ResellerPlans/{route}", content=payload, headers=HEADERS, timeout=15
    )

    _assert_contract(route, response.status_code, response.content, world.snapshot() != before)
    assert errors.records == []
