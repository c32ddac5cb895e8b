"""Reading an account the platform's way: with the token it sends, from hosts we configured.

The platform's account model has no reselling flag, so the service manager reads the account from
the BSS. A call may carry ``X-CloudPlatform-Token`` (a bearer token for the BSS API) and
``X-CloudPlatform-BaseUri`` (that BSS's address): :class:`PlatformTokenAccountReader` then sends
``GET <base>/api/accounts/<id>`` with ``Authorization: Bearer <token>``.

The headers are the caller's words, so they are trusted only as far as this:

- the reader runs only for an authenticated call (the handler authenticates first);
- the base URI only *selects* one of the BSS addresses the distributor configured: its scheme,
  host and port must be exactly one of them (no user info, query or fragment), and the request
  goes to the configured address, never to the header's text. Any other base URI is ignored, so
  a forged header cannot make the service manager a proxy, and the token is sent nowhere else;
- redirects are not followed; the token is never logged, cached or shown by ``repr``;
- without a usable token or base URI, or when that read fails, the account is read from the
  configured BSS (``fallback``), as before.

Accounts read with a token are cached for ``ttl`` (per configured host and account), so a
pre-check (``CheckOnly``) followed by the real call reads the BSS once.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from reseller_plans.domain.accounts import ResellerAccount
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import BackendError, InvalidAlias, InvalidInput, NotFound
from reseller_plans.domain.plans import Plan
from reseller_plans.logs import get_logger
from reseller_plans.ports import BSS, Clock, SystemClock
from reseller_plans.service_manager.headers import PlatformCall

if TYPE_CHECKING:
    from reseller_plans.bss.wire import BSSWireConfig
    from reseller_plans.http import BackendClient, Payload
    from reseller_plans.service_manager.handler import AccountReader

__all__ = ["PlatformTokenAccountReader", "configured_bss_reader", "origin_of"]

logger = get_logger("service_manager")

_Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}
_token: contextvars.ContextVar[str] = contextvars.ContextVar("platform_token")


def origin_of(url: str) -> _Origin | None:
    """The (scheme, host, port) of an http(s) URL without user info, query or fragment, or None.

    >>> origin_of("https://BSS.example.com/")
    ('https', 'bss.example.com', 443)
    >>> origin_of("https://bss.example.com@evil.example") is None
    True
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    if parts.query or parts.fragment:
        return None
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def configured_bss_reader(bss: BSS) -> AccountReader:
    """The ``AccountReader`` that reads the account from the configured BSS (the fallback)."""

    def read(account_id: str, call: PlatformCall) -> ResellerAccount:
        return bss.get_account(account_id)

    return read


class _CallToken:
    """An ``Authenticator`` with the bearer token of the call being served (per thread)."""

    def auth_headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {_token.get()}"}

    def refresh(self, used: Mapping[str, str]) -> bool:
        return False  # the platform's token is the platform's to renew

    def __repr__(self) -> str:
        return "_CallToken()"


class PlatformTokenAccountReader:
    """An ``AccountReader`` that uses the platform's token on a configured BSS host.

    Args:
        hosts: the BSS base URLs the platform may name in ``X-CloudPlatform-BaseUri``
            (``"https://bss.disti.example"``); usually the configured BSS URL alone.
        fallback: reads the account otherwise (the configured BSS).
        distributor_id: the distributor of an account that names no bill-to account.
        api_version: sent as ``X-Api-Version``.
        ttl: how long an account read with a token is reused.
        clock: where time comes from (for the cache).
        max_entries: the most accounts kept in the cache.
        wire: the BSS's member names (those of ``BSSClient`` by default).

    Raises:
        InvalidInput: a host that is not an http(s) URL.
    """

    def __init__(
        self,
        *,
        hosts: Iterable[str],
        fallback: AccountReader,
        distributor_id: str | None = None,
        api_version: str = "3.0",
        ttl: dt.timedelta = dt.timedelta(minutes=5),
        clock: Clock | None = None,
        max_entries: int = 4096,
        wire: BSSWireConfig | None = None,
    ) -> None:
        self._hosts: dict[_Origin, str] = {}
        for url in hosts:
            origin = origin_of(url)
            if origin is None:
                raise InvalidInput(f"a platform host must be an http(s) URL, not {url!r}")
            self._hosts[origin] = url.strip().rstrip("/")
        self.fallback = fallback
        self.distributor_id = distributor_id
        self.api_version = api_version
        self.ttl = ttl
        self.clock = clock or SystemClock()
        self.max_entries = max_entries
        if wire is None:
            from reseller_plans.bss.wire import BSSWireConfig  # noqa: PLC0415 - loads httpx

            wire = BSSWireConfig()
        self.wire = wire
        self._lock = threading.Lock()
        self._clients: dict[_Origin, BackendClient] = {}
        self._cache: OrderedDict[tuple[_Origin, str], tuple[ResellerAccount, dt.datetime]] = (
            OrderedDict()
        )
        self.token_reads = 0
        """How many accounts were read from the BSS with a platform token."""

    def __repr__(self) -> str:
        return f"PlatformTokenAccountReader(hosts={sorted(self._hosts.values())!r})"

    def __call__(self, account_id: str, call: PlatformCall) -> ResellerAccount:
        """The account, read with the call's token when it names a configured host.

        Raises:
            NotFound, BackendError: as the fallback raises them.
        """
        token, base = call.platform_token, call.platform_base_uri
        origin = None if base is None else origin_of(base)
        if not token or origin is None or origin not in self._hosts:
            if token and base is not None:
                logger.warning(
                    "ignoring X-CloudPlatform-BaseUri %r: not a configured BSS host",
                    base[:200],
                )
            return self.fallback(account_id, call)
        now = self.clock.now()
        with self._lock:
            cached = self._cache.get((origin, account_id))
        if cached is not None and now - cached[1] < self.ttl:
            return cached[0]
        try:
            account = self._read(origin, account_id, token)
        except (BackendError, NotFound) as exc:
            logger.warning(
                "reading account %s with the platform's token failed (%s); "
                "reading it from the configured BSS",
                account_id,
                type(exc).__name__,
            )
            return self.fallback(account_id, call)
        with self._lock:
            self._cache[(origin, account_id)] = (account, now)
            self._cache.move_to_end((origin, account_id))
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return account

    def close(self) -> None:
        """Close the HTTP clients it opened."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _client(self, origin: _Origin) -> BackendClient:
        from reseller_plans.http import BackendClient, RetryPolicy, Timeouts  # noqa: PLC0415

        with self._lock:
            client = self._clients.get(origin)
            if client is None:
                client = BackendClient(
                    self._hosts[origin],
                    service="BSS (platform token)",
                    headers={"X-Api-Version": self.api_version},
                    auth=_CallToken(),
                    retry=RetryPolicy(max_attempts=2),
                    timeouts=Timeouts(connect=3.0, read=5.0, write=5.0, pool=3.0),
                    clock=self.clock,
                )
                self._clients[origin] = client
            return client

    def _read(self, origin: _Origin, account_id: str, token: str) -> ResellerAccount:
        from reseller_plans.http import path_segment  # noqa: PLC0415

        client = self._client(origin)
        reset = _token.set(token)
        try:
            payload = client.get_payload(f"/api/accounts/{path_segment(account_id)}")
            self.token_reads += 1
        finally:
            _token.reset(reset)
        return self._account(payload)

    def _account(self, item: Payload) -> ResellerAccount:
        # The members the BSS adapter reads, with its defaults (BSSWireConfig).
        wire = self.wire
        bill_to = item.obj(wire.bill_to_object_member, required=False)
        if bill_to is not None and bill_to.has("id"):
            distributor = bill_to.text("id")
        elif item.has(wire.bill_to_id_member):
            distributor = item.text(wire.bill_to_id_member)
        elif self.distributor_id is not None:
            distributor = self.distributor_id
        else:
            raise item.malformed("no bill-to account names the account's distributor")
        plan = Plan.BASIC
        license_value = item.optional_text(wire.account_plan_member)
        if license_value is not None and license_value.strip():
            parsed = wire.plan_of_license(license_value)
            if parsed is None:
                raise item.malformed(f"unknown reseller plan {license_value!r}")
            plan = parsed
        alias_text = item.optional_text(wire.account_alias_member)
        alias = None
        if alias_text:
            try:
                alias = StorefrontAlias.parse(alias_text)
            except InvalidAlias:
                alias = None  # an alias we cannot use is no alias
        return ResellerAccount(
            id=item.text("id"),
            distributor_id=distributor,
            name=item.text("name"),
            email=item.text("email", default=""),
            reselling_enabled=item.flag(*wire.reselling_members, default=False),
            plan=plan,
            alias=alias,
        )
