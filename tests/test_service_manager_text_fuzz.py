"""Hypothesis fuzz of Service Manager bodies with arbitrary Unicode, over the SQLite and
PostgreSQL stores (PostgreSQL when RESELLER_PLANS_TEST_POSTGRES_DSN is set).

- A NUL character or a lone surrogate in any text the service manager reads is refused with
  ``INVALID_TEXT`` (1013), and nothing changes.
- A property named twice in one object, exactly or in another case, is refused with
  ``DUPLICATE_PROPERTY`` (1014), and nothing changes.
- Every other text (emoji, right-to-left scripts, combining marks, astral characters) is
  accepted and comes back from the store unchanged.
- Never an HTTP 500, never an ERROR record.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reseller_plans import ResellerAccount
from reseller_plans.domain.text import unstorable
from reseller_plans.ports import Store
from reseller_plans.service_manager import ResultCode
from reseller_plans.stores.sqlite import SQLiteStore
from service_manager_world import DISTRIBUTOR, TECHSOLUTIONS, World, create_body, fixture

DSN = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")

SAMPLES = [
    "TechSolutions Ltd 🚀",
    "שלום עולם",  # right-to-left
    "مرحبا بالعالم",
    "e\u0301te\u0301 café",  # combining acute accents
    "👩\u200d💻 Zoë & Søn",  # a ZWJ sequence
    "\U0001d518\U0001d52b\U0001d526 \U0001f600",  # astral characters (Fraktur, an emoji)
    "日本語のテキスト",
    "\u202eevil\u202c",  # bidirectional controls are text like any other
]
# Every code point, the surrogates and NUL included.
any_char = st.characters(codec=None, exclude_categories=())
storable = st.text(any_char, min_size=1, max_size=24).filter(
    lambda t: unstorable(t) is None and t == t.strip()
)
valid_text = st.one_of(st.sampled_from(SAMPLES), storable)
poison = st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff"])


@st.composite
def unstorable_text(draw: st.DrawFn) -> str:
    text = draw(valid_text)
    at = draw(st.integers(min_value=0, max_value=len(text)))
    return text[:at] + draw(poison) + text[at:]


# Where a text goes, per route: properties the route always reads.
TEXT_FIELDS: dict[str, list[tuple[Any, ...]]] = {
    "Subscriptions/Create": [
        ("Account", "ID"),
        ("Account", "Name"),
        ("SubscriptionID",),
        ("ProductID",),
        ("AttributeList", "StorefrontAlias", "Value"),
        ("AttributeList", "ResellerPlan", "Code"),
        ("RequestedBy", "DisplayName"),
    ],
    "Subscriptions/Update": [("ID",), ("SubscriptionID",), ("Account", "ExternalID")],
    "Subscriptions/Suspend": [("ID",), ("RequestedBy", "DisplayName"), ("ActionType",)],
    "Subscriptions/Activate": [("ID",), ("Account", "Email")],
    "Subscriptions/Cancel": [("ID",), ("ServiceType",)],
    "Accounts/Synchronize": [("ID",), ("Name",), ("Email",)],
}
BODIES = {
    "Subscriptions/Create": "sm_subscriptions_create",
    "Subscriptions/Update": "sm_subscriptions_update",
    "Subscriptions/Suspend": "sm_subscriptions_suspend",
    "Subscriptions/Activate": "sm_subscriptions_activate",
    "Subscriptions/Cancel": "sm_subscriptions_cancel",
    "Accounts/Synchronize": "sm_accounts_synchronize",
}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def errors() -> Iterator[_Errors]:
    handler = _Errors()
    logger = logging.getLogger("reseller_plans")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _open_store(kind: str, folder: Path) -> tuple[Store, str | None]:
    if kind == "sqlite":
        return SQLiteStore(folder / "plans.db"), None
    if not DSN:
        pytest.skip("no PostgreSQL configured: set RESELLER_PLANS_TEST_POSTGRES_DSN")
    from reseller_plans.stores.postgres import PostgresStore  # noqa: PLC0415 - the extra

    schema = f"rp_fuzz_{uuid.uuid4().hex[:12]}"
    return PostgresStore(DSN, schema=schema), schema


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    store, schema = _open_store(request.param, tmp_path_factory.mktemp("sm-text"))
    world = World(store=store)
    # TechSolutions on Free (sub_0001), so the fixtures' ids name a real subscription.
    assert (
        world.handle("Subscriptions/Create", fixture("sm_subscriptions_create_free")).json()["Code"]
        == 0
    )
    try:
        yield world
    finally:
        store.close()
        if schema is not None:
            with psycopg.connect(DSN or "", autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE".encode())


def _put(document: Any, path: tuple[Any, ...], value: object) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value


def _answer(world: World, errors: _Errors, route: str, raw: bytes) -> dict[str, Any]:
    errors.records.clear()
    response = world.handle(route, raw=raw)
    assert response.status == 200, response
    assert errors.records == []
    answer = response.json()
    assert isinstance(answer, dict)
    assert set(answer) == {"Code", "Message", "Result"}
    return answer


@FUZZ
@given(data=st.data(), text=unstorable_text())
def test_a_nul_or_lone_surrogate_in_any_text_read_is_invalid_text_and_changes_nothing(
    world: World, errors: _Errors, data: st.DataObject, text: str
) -> None:
    route = data.draw(st.sampled_from(sorted(TEXT_FIELDS)))
    path = data.draw(st.sampled_from(TEXT_FIELDS[route]))
    body = fixture(BODIES[route])
    _put(body, path, text)
    check_only = data.draw(st.booleans())
    if route.startswith("Subscriptions/"):
        body["CheckOnly"] = check_only
    before = world.snapshot()

    answer = _answer(world, errors, route, json.dumps(body).encode())

    assert answer["Code"] == ResultCode.INVALID_TEXT, answer
    assert ".".join(path).casefold() in answer["Message"].casefold()
    assert world.snapshot() == before


def _dump(value: Any, path: tuple[Any, ...] | None, twin: str, twin_value: Any) -> str:
    """JSON text of ``value`` with one more member ``twin`` in the object at ``path``."""
    if not isinstance(value, dict):
        return json.dumps(value)
    members = []
    for key, item in value.items():
        inner = path[1:] if path and path[0] == key else None
        members.append(f"{json.dumps(key)}:{_dump(item, inner, twin, twin_value)}")
    if path == ():
        members.append(f"{json.dumps(twin)}:{json.dumps(twin_value)}")
    return "{" + ",".join(members) + "}"


def _objects(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], list[str]]]:
    """Every object of ``value`` (by path through object members) with its keys."""
    if not isinstance(value, dict):
        return []
    found = [(prefix, list(value))] if value else []
    for key, item in value.items():
        found += _objects(item, (*prefix, key))
    return found


@FUZZ
@given(data=st.data())
def test_a_property_named_twice_in_any_case_is_duplicate_property_and_changes_nothing(
    world: World, errors: _Errors, data: st.DataObject
) -> None:
    route = data.draw(st.sampled_from(sorted(BODIES)))
    body = fixture(BODIES[route])
    path, keys = data.draw(st.sampled_from(_objects(body)))
    key = data.draw(st.sampled_from(keys))
    twin = data.draw(st.sampled_from([key, key.lower(), key.upper(), key.swapcase()]))
    twin_value = data.draw(st.one_of(st.none(), st.booleans(), valid_text))
    before = world.snapshot()

    answer = _answer(world, errors, route, _dump(body, path, twin, twin_value).encode())

    assert answer["Code"] == ResultCode.DUPLICATE_PROPERTY, answer
    assert repr(twin) in answer["Message"]
    assert world.snapshot() == before


_serial = itertools.count(1)


@FUZZ
@given(account=valid_text, platform_id=valid_text, name=valid_text, by=valid_text)
def test_valid_unicode_is_accepted_and_round_trips_through_the_store(
    world: World, errors: _Errors, account: str, platform_id: str, name: str, by: str
) -> None:
    n = next(_serial)
    account_id, platform_subscription_id = f"{account}-{n}", f"{platform_id}-{n}"
    world.bss.add_account(
        ResellerAccount(account_id, DISTRIBUTOR, name, f"owner{n}@example.test", True)
    )
    body = create_body(plan="Free", account=account_id, alias=f"fuzz-{n}")
    body["SubscriptionID"] = platform_subscription_id
    body["Account"]["Name"] = name
    body["RequestedBy"] = {"DisplayName": by}

    created = _answer(world, errors, "Subscriptions/Create", json.dumps(body).encode())
    assert created["Code"] == ResultCode.OK, created
    suspend = fixture("sm_subscriptions_suspend")
    suspend["ID"] = created["Result"]
    _put(suspend, ("Account", "ID"), account_id)
    _put(suspend, ("Account", "ExternalID"), account_id)
    suspend["RequestedBy"] = {"DisplayName": by}
    suspended = _answer(world, errors, "Subscriptions/Suspend", json.dumps(suspend).encode())
    assert suspended["Code"] == ResultCode.OK, suspended

    with world.store.unit_of_work() as uow:
        (sub,) = uow.subscriptions_of(account_id)
        history = uow.history(sub.id)
    assert sub.account_id == account_id
    assert sub.platform_subscription_id == platform_subscription_id
    assert any(by in getattr(event, "reason", "") for event in history)
    assert world.directory.get_subscription(platform_subscription_id) == sub.id


def test_no_refused_body_left_a_subscription_behind(world: World) -> None:
    with world.store.unit_of_work() as uow:
        assert [s.id for s in uow.subscriptions_of(TECHSOLUTIONS)] == ["sub_0001"]
