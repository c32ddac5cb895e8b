"""``AsyncStorefrontClient``, the async twin of ``StorefrontClient`` (generated).

Generated from ``src/reseller_plans/storefront/client.py``
by ``scripts/unasync_adapters.py``: do not edit it; edit the sync client and run the script.
The same methods, parameters, defaults, return types and errors as the sync client, performing
the same sans-IO calls on an
:class:`~reseller_plans.http.async_client.AsyncBackendClient` (``httpx.AsyncClient``): only the
send and the sleep differ.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import StorefrontStatus
from reseller_plans.http.async_client import AsyncBackendAdapter, AsyncBackendClient
from reseller_plans.http.auth import AsyncApiKeyAuth
from reseller_plans.http.retry import RetryPolicy
from reseller_plans.http.timeouts import Timeouts
from reseller_plans.logs import Secret
from reseller_plans.ports import BillingCycle, Clock, PlanOrder
from reseller_plans.storefront.calls import StorefrontCalls, new_key
from reseller_plans.storefront.wire import StorefrontWireConfig

__all__ = ["AsyncStorefrontClient"]


class AsyncStorefrontClient(AsyncBackendAdapter):
    """The ``Storefront`` port over HTTP, for asyncio: every call is awaited.

    Args:
        base_url: the Storefront API root, such as ``https://cloud.disti.com``.
        api_key: the API key, sent in ``wire.api_key_header`` (``X-ApiKey``).
        wire: routes and member names (every default inferred).
        retry: the retry policy.
        timeouts: connect, read, write and pool timeouts.
        clock: where time comes from (``Retry-After`` dates).
        key_factory: mints the idempotency key of a storefront write (uuid4 by default).
        http_client: an ``httpx.AsyncClient`` to use (the caller keeps owning it).
        transport: an httpx transport for the client we make (tests, proxies).

    Use it in an ``async with`` block, or ``await`` :meth:`close`, to close its connections.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | Secret,
        wire: StorefrontWireConfig | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        clock: Clock | None = None,
        key_factory: Callable[[], str] = new_key,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.wire = wire or StorefrontWireConfig()
        self._calls = StorefrontCalls(self.wire, key_factory)
        self.backend = AsyncBackendClient(
            base_url,
            service="Storefront",
            auth=AsyncApiKeyAuth(api_key, header=self.wire.api_key_header),
            retry=retry,
            timeouts=timeouts,
            clock=clock,
            http_client=http_client,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"AsyncStorefrontClient(base_url={self.backend.base_url!r})"

    async def is_alias_free(self, alias: StorefrontAlias, *, account_id: str) -> bool:
        """True when nobody but ``account_id`` holds the alias.

        Args:
            alias: the alias.
            account_id: the account asking.

        Returns:
            True when the alias is unheld (404) or held by ``account_id``.

        Raises:
            MalformedResponse: a 200 that does not name the holder (an empty object, the
                member missing or null): an answer we cannot read is never "free".
            BackendError: the Storefront failed.
        """
        return await self.backend.run(self._calls.is_alias_free(alias, account_id))

    async def hold_alias(self, alias: StorefrontAlias, *, account_id: str) -> None:
        """Reserve the alias for the account (``PUT``; idempotent for the holder).

        Args:
            alias: the alias.
            account_id: the account that takes it.

        Raises:
            AliasTaken: another account holds it (409).
            BackendError: the Storefront failed.
        """
        await self.backend.run(self._calls.hold_alias(alias, account_id))

    async def release_alias(
        self, alias: StorefrontAlias, *, account_id: str, idempotency_key: str | None = None
    ) -> None:
        """Give the alias up (idempotent; a no-op when it is free or another account holds it).

        Args:
            alias: the alias.
            account_id: the account giving it up.
            idempotency_key: the key of this logical write, the same on every repeat of it
                (minted afresh when None).

        Raises:
            BackendError: the Storefront failed.
        """
        await self.backend.run(self._calls.release_alias(alias, account_id, idempotency_key))

    async def storefront_status(self, account_id: str) -> StorefrontStatus:
        """What the Storefront shows of the reseller's storefront (the reconciler's read).

        Args:
            account_id: the reseller.

        Returns:
            ``LIVE``, ``SUSPENDED``, or ``NONE`` (shut down, or none at all: 404).

        Raises:
            MalformedResponse: a status this adapter does not know (``wire.status_values``).
            BackendError: the Storefront failed.
        """
        return await self.backend.run(self._calls.storefront_status(account_id))

    async def activate_storefront(
        self,
        account_id: str,
        alias: StorefrontAlias,
        plan: Plan,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        """Put the reseller's storefront live under its alias.

        Args:
            account_id: the reseller.
            alias: its Storefront Alias.
            plan: the plan it is on.
            idempotency_key: the key of this logical activation, the same on every repeat of
                it (minted afresh when None).

        Returns:
            The storefront's URL.

        Raises:
            AliasTaken: another account holds the alias (409).
            NotFound: no such reseller.
            BackendError: the Storefront failed; ``MalformedResponse`` without a URL.
        """
        flow = self._calls.activate_storefront(account_id, alias, plan, idempotency_key)
        return await self.backend.run(flow)

    async def suspend_storefront(
        self, account_id: str, *, idempotency_key: str | None = None
    ) -> None:
        """Take the reseller's storefront offline (idempotent).

        Args:
            account_id: the reseller.
            idempotency_key: the key of this logical write, the same on every repeat of it
                (minted afresh when None).

        Raises:
            NotFound: no storefront for that reseller.
            BackendError: the Storefront failed.
        """
        await self.backend.run(self._calls.suspend_storefront(account_id, idempotency_key))

    async def resume_storefront(
        self, account_id: str, *, idempotency_key: str | None = None
    ) -> None:
        """Put a suspended storefront back online (idempotent).

        Args:
            account_id: the reseller.
            idempotency_key: the key of this logical write, the same on every repeat of it
                (minted afresh when None).

        Raises:
            NotFound: no storefront for that reseller.
            BackendError: the Storefront failed.
        """
        await self.backend.run(self._calls.resume_storefront(account_id, idempotency_key))

    async def deactivate_storefront(
        self, account_id: str, *, idempotency_key: str | None = None
    ) -> None:
        """Shut the reseller's storefront down (idempotent; no storefront at all, 404, is done:
        it undoes an activation that may never have happened).

        Args:
            account_id: the reseller.
            idempotency_key: the key of this logical write, the same on every repeat of it
                (minted afresh when None).

        Raises:
            BackendError: the Storefront failed.
        """
        await self.backend.run(self._calls.deactivate_storefront(account_id, idempotency_key))

    async def purchase_plan(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: BillingCycle,
        idempotency_key: str,
    ) -> PlanOrder:
        """The reseller buys the plan product: basket, item with the alias, checkout.

        Three writes with keys derived from ``idempotency_key`` (``<key>/basket``,
        ``<key>/item``, ``<key>/checkout``).

        Args:
            account_id: the buying reseller.
            product_id: the plan product's id.
            alias: the Storefront Alias asked at checkout (Standard), or None.
            billing_cycle: ``"monthly"`` or ``"annual"``.
            idempotency_key: one key for this purchase, the same on every retry.

        Returns:
            The order (the basket's order id) with the created subscription id when given.

        Raises:
            ValueError: an unknown billing cycle.
            AliasTaken: the alias is taken (409 at checkout).
            BackendError: the Storefront refused or failed.
        """
        flow = self._calls.purchase_plan(
            account_id, product_id, alias, billing_cycle, idempotency_key
        )
        return await self.backend.run(flow)
