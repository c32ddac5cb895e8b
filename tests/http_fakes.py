"""Shared test doubles of the HTTP adapter tests: a fake clock, a sleep recorder, clients wired to
a respx router, and the responses the mocked BSS and Storefront give."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import respx

from reseller_plans.bss import BSSClient
from reseller_plans.http import RetryPolicy
from reseller_plans.storefront import StorefrontClient

BSS_URL = "https://bss.test"
SF_URL = "https://shop.test"
TOKEN = "tok-0001"
API_KEY = "sf-api-key-0001"
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.current = start

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


class Sleeps(list[float]):
    """Records the waits the retry policy asked for, without waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def policy(sleeps: Sleeps, *, max_attempts: int = 3, max_retry_after: float = 30.0) -> RetryPolicy:
    """A policy whose jitter factor is always 0.875 (random() = 0.5, jitter 0.25)."""
    return RetryPolicy(
        max_attempts=max_attempts,
        initial_backoff=0.5,
        max_backoff=8.0,
        jitter=0.25,
        max_retry_after=max_retry_after,
        sleep=sleeps,
        random=lambda: 0.5,
    )


def backoffs(n: int) -> list[float]:
    """The first ``n`` waits of :func:`policy` when the server names no time."""
    return [0.5 * 2**i * 0.875 for i in range(n)]


def json_response(status: int = 200, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def token_body(token: str = TOKEN, expires_in: int | None = 3600) -> dict[str, Any]:
    body: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return body


def bss_router() -> respx.Router:
    router = respx.Router(base_url=BSS_URL, assert_all_called=False)
    router.post("/oauth/token", name="token").mock(return_value=json_response(200, token_body()))
    return router


def make_bss(
    router: respx.Router,
    *,
    sleeps: Sleeps | None = None,
    clock: FakeClock | None = None,
    max_attempts: int = 3,
    **kwargs: Any,
) -> BSSClient:
    return BSSClient(
        BSS_URL,
        client_key=kwargs.pop("client_key", "key-1"),
        client_secret=kwargs.pop("client_secret", "secret-1"),
        username=kwargs.pop("username", "api-user"),
        password=kwargs.pop("password", "pw-1"),
        retry=policy(sleeps if sleeps is not None else Sleeps(), max_attempts=max_attempts),
        clock=clock or FakeClock(),
        transport=httpx.MockTransport(router.handler),
        **kwargs,
    )


def sf_router() -> respx.Router:
    return respx.Router(base_url=SF_URL, assert_all_called=False)


class Keys:
    """A deterministic idempotency key factory."""

    def __init__(self) -> None:
        self.minted: list[str] = []

    def __call__(self) -> str:
        key = f"sf-key-{len(self.minted) + 1}"
        self.minted.append(key)
        return key


def make_storefront(
    router: respx.Router, *, sleeps: Sleeps | None = None, max_attempts: int = 3, **kwargs: Any
) -> StorefrontClient:
    return StorefrontClient(
        SF_URL,
        api_key=kwargs.pop("api_key", API_KEY),
        retry=policy(sleeps if sleeps is not None else Sleeps(), max_attempts=max_attempts),
        clock=kwargs.pop("clock", FakeClock()),
        key_factory=kwargs.pop("key_factory", Keys()),
        transport=httpx.MockTransport(router.handler),
        **kwargs,
    )


def account_body(account_id: int = 3542, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": account_id,
        "name": f"Account {account_id}",
        "email": f"a{account_id}@example.test",
        "resellingEnabled": True,
        "billToAccount": {"id": 100, "name": "Disti"},
    }
    body.update(extra)
    return body


def page_body(rows: list[Any], *, index: int, pages: int, next_url: str | None) -> dict[str, Any]:
    return {
        "data": rows,
        "paging": {"pageIndex": index, "pageSize": len(rows), "totalRecords": 0,
                   "totalPages": pages},
        "links": {"next": next_url},
    }  # fmt: skip


ORGANIZATION = {
    "id": 100,
    "name": "Disti",
    "edition": "Diamond",
    "activeAddons": ["Standard Edition Resellers"],
    "serviceManagerStatus": "Active",
    "storefrontHost": "cloud.disti.test",
    "staffEmail": "ops@disti.test",
}
PRODUCTS = [
    {"id": "P-1", "code": "Other"},
    {"id": "P-2", "code": "ResellerPlanFree"},
    {"id": "P-3", "code": "ResellerPlanStandard"},
]
