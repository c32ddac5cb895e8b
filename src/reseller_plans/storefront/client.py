"""``StorefrontClient``: the ``Storefront`` port over HTTP.

Aliases, reseller storefronts and the reseller's own purchase of a plan, on the routes of
:class:`~reseller_plans.storefront.wire.StorefrontWireConfig`, through the shared
:class:`~reseller_plans.http.BackendClient` (retries, typed errors, redacted logs), with the API
key in a header. The calls themselves (requests, keys, readings) are
:class:`~reseller_plans.storefront.calls.StorefrontCalls`, shared with the async twin
:class:`~reseller_plans.storefront.async_client.AsyncStorefrontClient`.

Every storefront write carries an ``Idempotency-Key``, fixed before the first attempt and sent
unchanged on every retry. The caller passes it (``idempotency_key=``: one key per logical write,
the same when the whole call is repeated, so a repeat is not a second write); without one the
client mints a fresh key per call. ``purchase_plan`` derives its keys from the caller's.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import StorefrontStatus
from reseller_plans.http.auth import ApiKeyAuth
from reseller_plans.http.client import BackendAdapter, BackendClient
from reseller_plans.http.retry import RetryPolicy
from reseller_plans.http.timeouts import Timeouts
from reseller_plans.logs import Secret
from reseller_plans.ports import BillingCycle, Clock, PlanOrder
from reseller_plans.storefront.calls import StorefrontCalls, new_key
from reseller_plans.storefront.wire import StorefrontWireConfig

__all__ = ["StorefrontClient"]


class StorefrontClient(BackendAdapter):
    """The ``Storefront`` port over HTTP.

    Args:
        base_url: the Storefront API root, such as ``https://cloud.disti.com``.
        api_key: the API key, sent in ``wire.api_key_header`` (``X-ApiKey``).
        wire: routes and member names (every default inferred).
        retry: the retry policy.
        timeouts: connect, read, write and pool timeouts.
        clock: where time comes from (``Retry-After`` dates).
        key_factory: mints the idempotency key of a storefront write (uuid4 by default).
        http_client: an ``httpx.Client`` to use (the caller keeps owning it).
        transport: an httpx transport for the client we make (tests, proxies).

    Use it as a context manager, or call :meth:`close`, to close its connections.
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
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.wire = wire or StorefrontWireConfig()
        self._calls = StorefrontCalls(self.wire, key_factory)
        self.backend = BackendClient(
            base_url,
            service="Storefront",
            auth=ApiKeyAuth(api_key, header=self.wire.api_key_header),
            retry=retry,
            timeouts=timeouts,
            clock=clock,
            http_client=http_client,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"StorefrontClient(base_url={self.backend.base_url!r})"

    def is_alias_free(self, alias: StorefrontAlias, *, account_id: str) -> bool:
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
        return self.backend.run(self._calls.is_alias_free(alias, account_id))

    def hold_alias(self, alias: StorefrontAlias, *, account_id: str) -> None:
        """Reserve the alias for the account (``PUT``; idempotent for the holder).

        Args:
            alias: the alias.
            account_id: the account that takes it.

        Raises:
            AliasTaken: another account holds it (409).
            BackendError: the Storefront failed.
        """
        self.backend.run(self._calls.hold_alias(alias, account_id))

    def release_alias(
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
        self.backend.run(self._calls.release_alias(alias, account_id, idempotency_key))

    def storefront_status(self, account_id: str) -> StorefrontStatus:
        """What the Storefront shows of the reseller's storefront (the reconciler's read).

        Args:
            account_id: the reseller.

        Returns:
            ``LIVE``, ``SUSPENDED``, or ``NONE`` (shut down, or none at all: 404).

        Raises:
            MalformedResponse: a status this adapter does not know (``wire.status_values``).
            BackendError: the Storefront failed.
        """
        return self.backend.run(self._calls.storefront_status(account_id))

    def activate_storefront(
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
        return self.backend.run(flow)

    def suspend_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        """Take the reseller's storefront offline (idempotent).

        Args:
            account_id: the reseller.
            idempotency_key: the key of this logical write, the same on every repeat of it
                (minted afresh when None).

        Raises:
            NotFound: no storefront for that reseller.
            BackendError: the Storefront failed.
        """
        self.backend.run(self._calls.suspend_storefront(account_id, idempotency_key))

    def resume_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        """Put a suspended storefront back online (idempotent).

        Args:
            account_id: the reseller.
            idempotency_key: the key of this logical write, the same on every repeat of it
                (minted afresh when None).

        Raises:
            NotFound: no storefront for that reseller.
            BackendError: the Storefront failed.
        """
        self.backend.run(self._calls.resume_storefront(account_id, idempotency_key))

    def deactivate_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        """Shut the reseller's storefront down (idempotent; no storefront at all, 404, is done:
        it undoes an activation that may never have happened).

        Args:
            account_id: the reseller.
            idempotency_key: the key of this logical write, the same on every repeat of it
                (minted afresh when None).

        Raises:
            BackendError: the Storefront failed.
        """
        self.backend.run(self._calls.deactivate_storefront(account_id, idempotency_key))

    def purchase_plan(
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
        return self.backend.run(flow)
