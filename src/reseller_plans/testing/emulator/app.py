"""The emulator's ASGI app: the BSS and Storefront routes our adapters speak, over an
:class:`~reseller_plans.testing.emulator.state.EmulatorState`.

Every request goes through the same steps: fault injection (scripted, rate limit, random),
the ``X-Api-Version`` check (BSS routes), authentication (Basic on ``/oauth/token``, bearer on
BSS routes, ``X-ApiKey`` on Storefront routes), the idempotency cache for writes that carry an
``Idempotency-Key`` (same key and request: the first answer again; same key, other request: 422),
then the handler. Every answer carries ``X-Request-Id`` and is counted per route template.
Errors are ``{"message": ...}`` (OAuth errors: ``{"error", "error_description"}``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import itertools
import json
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import attrs
from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reseller_plans.testing.emulator.faults import FaultInjector, Faults, ScriptedFault
from reseller_plans.testing.emulator.state import Call, EmulatorError, EmulatorState

__all__ = ["STATE_PATH", "Emulator", "create_app", "snapshot"]

STATE_PATH = "/_emulator/state"
"""Where the emulator shows its state (``GET``): what :func:`snapshot` returns."""

JSON = Any
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_PAGE_SIZE = 1000


@attrs.frozen
class _Input:
    """What a handler reads from a request."""

    params: dict[str, str]
    query: dict[str, str]
    body: JSON
    url: str


Handler = Callable[[_Input], tuple[int, JSON]]


class Emulator:
    """The emulated platform: its state, its faults, and the ASGI app that serves them.

    Args:
        state: the data (the demo fixture when None).
        faults: fault injection settings (none when None).
    """

    def __init__(self, state: EmulatorState | None = None, faults: Faults | None = None) -> None:
        self.state = state or EmulatorState.demo()
        self.injector = FaultInjector(faults or Faults())
        self._request_ids = itertools.count(1)
        self.app = Starlette(
            routes=self._routes(),
            exception_handlers={HTTPException: _http_exception},  # type: ignore[dict-item]
        )
        self.app.state.emulator = self

    @property
    def faults(self) -> Faults:
        """The fault injection settings."""
        return self.injector.faults

    def fail_next(
        self,
        status: int,
        *,
        route: str | None = None,
        count: int = 1,
        retry_after: str | None = None,
        body: object = None,
    ) -> None:
        """Answer the next ``count`` requests (to ``route``, or any) with ``status``.

        Args:
            status: the status to answer.
            route: a route template such as ``"POST /api/orders"``; None for any route.
            count: how many requests.
            retry_after: a ``Retry-After`` header value to send.
            body: the body (a JSON object, or text); ``{"message": ...}`` by default.
        """
        self.injector.script(ScriptedFault(status, route, count, retry_after, body))

    def clear_scripted_faults(self) -> None:
        """Drop every scripted failure not yet answered (the service "comes back")."""
        self.injector.clear_scripted()

    def reset(self, state: EmulatorState | None = None) -> None:
        """Start over on ``state`` (the demo fixture when None): its data, call log and
        idempotency cache; scripted failures are dropped. The server keeps running.

        Args:
            state: the data to serve from now on.
        """
        self.state = state or EmulatorState.demo()
        self.app.router.routes[:] = self._routes()  # the routes are bound to the state
        self.injector.clear_scripted()

    # -- the routes ---------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        s = self.state
        table: list[tuple[str, str, str, Handler | None]] = [
            ("POST", "/oauth/token", "token", None),
            ("GET", "/api/organization", "bss", lambda r: (200, s.organization)),
            ("GET", "/api/products", "bss", lambda r: (200, _page(r, s.products, dict))),
            ("GET", "/api/accounts", "bss", self._list_accounts),
            ("GET", "/api/accounts/{account_id}", "bss",
             lambda r: (200, s.render_account(s.account(r.params["account_id"])))),
            ("PATCH", "/api/accounts/{account_id}", "bss",
             lambda r: (200, s.patch_account(r.params["account_id"], r.body))),
            ("POST", "/api/orders", "bss", lambda r: (201, _without_items(s.create_order(r.body)))),
            ("GET", "/api/orders/{order_id}", "bss", self._get_order),
            ("POST", "/api/orders/{order_id}/items", "bss",
             lambda r: (201, s.add_item(r.params["order_id"], r.body))),
            ("POST", "/api/orders/{order_id}/checkout", "bss",
             lambda r: (200, s.checkout(r.params["order_id"]))),
            ("GET", "/api/subscriptions", "bss", self._list_subscriptions),
            ("GET", "/api/subscriptions/{subscription_id}", "bss",
             lambda r: (200, s.subscription(r.params["subscription_id"]))),
            *[
                ("POST", f"/api/subscriptions/{{subscription_id}}/{action}", "bss",
                 _subscription_action(s, action))
                for action in ("cancel", "suspend", "resume")
            ],
            ("GET", "/api/storefront/aliases/{alias}", "storefront", self._get_alias),
            ("PUT", "/api/storefront/aliases/{alias}", "storefront",
             lambda r: s.hold_alias(r.params["alias"], r.body)),
            ("DELETE", "/api/storefront/aliases/{alias}", "storefront", self._release_alias),
            ("GET", "/api/storefront/resellers/{account_id}/storefront", "storefront",
             lambda r: (200, s.storefront(r.params["account_id"]))),
            ("POST", "/api/storefront/resellers/{account_id}/storefront/activate", "storefront",
             lambda r: (200, s.activate_storefront(r.params["account_id"], r.body))),
            *[
                ("POST", f"/api/storefront/resellers/{{account_id}}/storefront/{action}",
                 "storefront", _storefront_action(s, action))
                for action in ("suspend", "resume", "deactivate")
            ],
            ("POST", "/api/storefront/baskets", "storefront",
             lambda r: (201, _without_items(s.create_order(r.body, channel="storefront")))),
            ("POST", "/api/storefront/baskets/{basket_id}/items", "storefront",
             lambda r: (201, s.add_item(r.params["basket_id"], r.body))),
            ("POST", "/api/storefront/baskets/{basket_id}/checkout", "storefront",
             self._basket_checkout),
        ]  # fmt: skip
        return [
            Route(path, self._endpoint(method, path, kind, handler), methods=[method],
                  name=f"{method} {path}")
            for method, path, kind, handler in table
        ] + [Route(STATE_PATH, self._state, methods=["GET"], name=f"GET {STATE_PATH}")]  # fmt: skip

    async def _state(self, _request: Request) -> Response:
        # For a test or an operator to look: no faults, no authentication, not counted.
        return JSONResponse(snapshot(self.state))

    def _list_accounts(self, r: _Input) -> tuple[int, JSON]:
        rows = self.state.filtered_accounts(r.query.get("$filter"))
        return 200, _page(r, rows, self.state.render_account)

    def _list_subscriptions(self, r: _Input) -> tuple[int, JSON]:
        rows = self.state.filtered_subscriptions(r.query.get("$filter"))
        return 200, _page(r, rows, dict)

    def _get_order(self, r: _Input) -> tuple[int, JSON]:
        order = self.state.orders.get(r.params["order_id"])
        if order is None:
            raise EmulatorError(404, f"Order {r.params['order_id']} was not found.")
        return 200, order

    def _get_alias(self, r: _Input) -> tuple[int, JSON]:
        alias = r.params["alias"]
        holder = self.state.aliases.get(alias)
        if holder is None:
            raise EmulatorError(404, f"The Storefront Alias '{alias}' is not held.")
        account = self.state.accounts.get(holder)
        return 200, {"alias": alias, "accountId": account["id"] if account else holder}

    def _release_alias(self, r: _Input) -> tuple[int, JSON]:
        self.state.release_alias(r.params["alias"], r.query.get("accountId"))
        return 204, None

    def _basket_checkout(self, r: _Input) -> tuple[int, JSON]:
        done = self.state.checkout(r.params["basket_id"])
        return 200, {"orderId": done["id"], "subscriptionId": done["subscriptionId"]}

    # -- the pipeline -------------------------------------------------------------------------

    def _endpoint(
        self, method: str, path: str, kind: str, handler: Handler | None
    ) -> Callable[[Request], Awaitable[Response]]:
        route = f"{method} {path}"

        async def endpoint(request: Request) -> Response:
            key = request.headers.get("idempotency-key") if method in _WRITES else None
            response, replayed = await self._answer(request, route, kind, handler, key)
            self.state.record(
                Call(method, route, request.url.path, response.status_code, key, replayed)
            )
            return response

        return endpoint

    async def _answer(
        self, request: Request, route: str, kind: str, handler: Handler | None, key: str | None
    ) -> tuple[Response, bool]:
        latency = self.injector.faults.latency
        if latency:
            await asyncio.sleep(latency)
        fault = self.injector.decide(route)
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._respond(fault.status, fault.body, headers), False
        raw = await request.body()
        try:
            if handler is None:  # the token endpoint: its own authentication and errors
                return self._token(request, raw), False
            refusal = self._check_access(request, kind)
            if refusal is not None:
                return refusal, False
            fingerprint = ""
            if key is not None:
                fingerprint = f"{route} {request.url.path} {hashlib.sha256(raw).hexdigest()}"
                cached = self.state.idempotency.get(key)
                if cached is not None:
                    if cached[0] != fingerprint:
                        raise EmulatorError(
                            422, "This Idempotency-Key was used with another request."
                        )
                    return self._replay(cached[1], cached[2]), True
            body = _parse_body(raw)
            status, payload = handler(
                _Input(dict(request.path_params), dict(request.query_params), body,
                       str(request.url))
            )  # fmt: skip
        except EmulatorError as error:
            status, payload = error.status, error.body
            key = key if error.status < 500 and error.status != 422 else None
        response = self._respond(status, payload)
        if key is not None and status < 500 and status != 429:
            self.state.idempotency[key] = (fingerprint, status, bytes(response.body))
        return response, False

    def _check_access(self, request: Request, kind: str) -> Response | None:
        state = self.state
        if kind == "storefront":
            if request.headers.get("x-apikey") not in state.credentials.api_keys:
                return self._respond(401, {"message": "A valid X-ApiKey header is required."})
            return None
        if not request.headers.get("x-api-version"):
            return self._respond(400, {"message": "The X-Api-Version header is required."})
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expiry = state.tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= time.monotonic():
            return self._respond(
                401, {"message": "Authorization has been denied for this request."}
            )
        return None

    def _token(self, request: Request, raw: bytes) -> Response:
        creds = self.state.credentials
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client = base64.b64decode(encoded, validate=True).decode() if scheme == "Basic" else ""
        except (binascii.Error, UnicodeDecodeError):
            client = ""
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        if "client_id" in form or "client_secret" in form:
            return self._oauth_error(
                400,
                "invalid_request",
                "Send the client credentials as HTTP Basic, not in the form.",
            )
        if client != f"{creds.client_key}:{creds.client_secret}":
            return self._oauth_error(401, "invalid_client", "Client authentication failed.")
        if form.get("grant_type") != "password":
            return self._oauth_error(400, "unsupported_grant_type", "Use grant_type=password.")
        if form.get("username") != creds.username or form.get("password") != creds.password:
            return self._oauth_error(400, "invalid_grant", "The user name or password is wrong.")
        token = secrets.token_urlsafe(24)
        self.state.tokens[token] = time.monotonic() + self.state.token_lifetime
        return self._respond(200, {"access_token": token, "token_type": "bearer",
                                   "expires_in": self.state.token_lifetime})  # fmt: skip

    def _oauth_error(self, status: int, error: str, description: str) -> Response:
        return self._respond(status, {"error": error, "error_description": description})

    def _respond(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> Response:
        extra = {"X-Request-Id": f"emu-{next(self._request_ids)}", **(headers or {})}
        if status == 204 or body is None:
            return Response(status_code=status, headers=extra)
        if isinstance(body, str):
            return Response(body, status_code=status, headers=extra, media_type="text/plain")
        return Response(json.dumps(body), status_code=status, headers=extra,
                        media_type="application/json")  # fmt: skip

    def _replay(self, status: int, content: bytes) -> Response:
        headers = {"X-Request-Id": f"emu-{next(self._request_ids)}", "Idempotent-Replayed": "true"}
        media = "application/json" if content else None
        return Response(content or None, status_code=status, headers=headers, media_type=media)


def create_app(state: EmulatorState | None = None, faults: Faults | None = None) -> Starlette:
    """The emulator's ASGI app.

    Args:
        state: the data (the demo fixture when None).
        faults: fault injection settings.

    Returns:
        The Starlette app (its ``Emulator`` is ``app.state.emulator``).
    """
    return Emulator(state, faults).app


def snapshot(state: EmulatorState) -> dict[str, Any]:
    """The emulator's data as JSON, credentials left out.

    Args:
        state: the state.

    Returns:
        ``organization``, ``accounts`` (as ``GET /api/accounts`` renders them), ``products``,
        ``orders`` (with their items), ``subscriptions``, ``aliases`` (alias → account id),
        ``storefronts`` (account id → storefront) and ``calls`` (answers per route template).
    """
    with state.lock:
        data = {
            "organization": state.organization,
            "accounts": [state.render_account(a) for a in state.accounts.values()],
            "products": state.products,
            "orders": list(state.orders.values()),
            "subscriptions": list(state.subscriptions.values()),
            "aliases": state.aliases,
            "storefronts": state.storefronts,
            "calls": dict(state.calls),
        }
        # a deep copy taken under the lock: the answer is encoded after it is released
        return json.loads(json.dumps(data, default=str))  # type: ignore[no-any-return]


def _parse_body(raw: bytes) -> JSON:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise EmulatorError(400, "The request body is not valid JSON.") from None


def _page(r: _Input, rows: list[dict[str, Any]], render: Callable[[Any], Any]) -> JSON:
    try:
        index = int(r.query.get("pageIndex", "1"))
        size = int(r.query.get("pageSize", "50"))
    except ValueError:
        raise EmulatorError(400, "pageIndex and pageSize are integers.") from None
    if index < 1 or not 1 <= size <= _MAX_PAGE_SIZE:
        raise EmulatorError(400, f"pageIndex >= 1 and 1 <= pageSize <= {_MAX_PAGE_SIZE}.")
    total = len(rows)
    pages = math.ceil(total / size)
    data = [render(row) for row in rows[(index - 1) * size : index * size]]
    next_url = None
    if index < pages:
        next_url = str(URL(r.url).include_query_params(pageIndex=index + 1, pageSize=size))
    return {
        "data": data,
        "paging": {"pageIndex": index, "pageSize": size, "totalRecords": total,
                   "totalPages": pages},
        "links": {"next": next_url},
    }  # fmt: skip


def _without_items(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if k != "items"}


def _subscription_action(state: EmulatorState, action: str) -> Handler:
    return lambda r: (200, state.subscription_action(r.params["subscription_id"], action))


def _storefront_action(state: EmulatorState, action: str) -> Handler:
    return lambda r: (200, state.storefront_action(r.params["account_id"], action))


async def _http_exception(_request: Request, exc: HTTPException) -> Response:
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code)
