"""``AsyncBSSClient``, the async twin of ``BSSClient`` (generated).

Generated from ``src/reseller_plans/bss/client.py``
by ``scripts/unasync_adapters.py``: do not edit it; edit the sync client and run the script.
The same methods, parameters, defaults, return types and errors as the sync client, performing
the same sans-IO calls on an
:class:`~reseller_plans.http.async_client.AsyncBackendClient` (``httpx.AsyncClient``): only the
send and the sleep differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import httpx

from reseller_plans.bss.calls import BSSCalls, PlatformSubscription
from reseller_plans.bss.oauth import AsyncPasswordGrant
from reseller_plans.bss.patch import PatchOperation
from reseller_plans.bss.wire import BSSWireConfig
from reseller_plans.domain.accounts import DistributorProfile, ResellerAccount
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import PlatformStatus
from reseller_plans.http.async_client import AsyncBackendAdapter, AsyncBackendClient
from reseller_plans.http.retry import RetryPolicy
from reseller_plans.http.timeouts import Timeouts
from reseller_plans.logs import Secret
from reseller_plans.ports import BillingCycle, Clock, PlanOrder, SystemClock

__all__ = ["AsyncBSSClient"]


class AsyncBSSClient(AsyncBackendAdapter):
    """The ``BSS`` port over HTTP, for asyncio: every call is awaited.

    Args:
        base_url: the BSS root, such as ``https://bss.example.com``.
        client_key: the API client key (sent only as HTTP Basic user to ``/oauth/token``).
        client_secret: the API client secret (HTTP Basic password).
        username: the application user of the password grant.
        password: its password.
        api_version: sent as ``X-Api-Version`` on every request (documented latest: ``3.0``).
        wire: the undocumented parts of the wire (routes, member names, status strings).
        retry: the retry policy.
        timeouts: connect, read, write and pool timeouts.
        clock: where time comes from (token expiry, ``Retry-After`` dates).
        api_user_plan: the plan of the reseller API user these credentials belong to, when they
            are a reseller's: ``Plan.FREE`` makes a refused write say that the plan only reads.
        distributor_id: the organization this BSS belongs to; used as an account's distributor
            when the account names no bill-to account.
        http_client: an ``httpx.AsyncClient`` to use (the caller keeps owning it).
        transport: an httpx transport for the client we make (tests, proxies).

    Use it in an ``async with`` block, or ``await`` :meth:`close`, to close its connections.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_key: str | Secret,
        client_secret: str | Secret,
        username: str,
        password: str | Secret,
        api_version: str = "3.0",
        wire: BSSWireConfig | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        clock: Clock | None = None,
        api_user_plan: Plan | None = None,
        distributor_id: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.wire = wire or BSSWireConfig()
        self._clock = clock or SystemClock()
        self._calls = BSSCalls(self.wire, distributor_id=distributor_id,
                               api_user_plan=api_user_plan)  # fmt: skip
        self._grant = AsyncPasswordGrant(
            client_key=client_key,
            client_secret=client_secret,
            username=username,
            password=password,
            clock=self._clock,
            default_lifetime=self.wire.default_token_lifetime,
            refresh_margin=self.wire.token_refresh_margin,
        )
        self.backend = AsyncBackendClient(
            base_url,
            service="BSS",
            headers={"X-Api-Version": api_version},
            auth=self._grant,
            retry=retry,
            timeouts=timeouts,
            clock=self._clock,
            api_user_plan_detector=self._calls.refused_for_plan,
            http_client=http_client,
            transport=transport,
        )
        self._grant.bind(self.backend)

    @property
    def token_fetches(self) -> int:
        """How many bearer tokens this client fetched so far."""
        return self._grant.fetches

    def __repr__(self) -> str:
        return f"AsyncBSSClient(base_url={self.backend.base_url!r}, grant={self._grant!r})"

    async def get_distributor(self, distributor_id: str) -> DistributorProfile:
        """The distributor's profile: edition, add-ons, service manager and plan products.

        Reads the organization (``wire.organization_route``) and pages through the product
        catalog until every plan product code of ``wire.plan_product_codes`` is found.

        Args:
            distributor_id: the distributor organization's id.

        Returns:
            The profile.

        Raises:
            NotFound: this BSS's organization is another one.
            BackendError: the BSS failed; ``MalformedResponse`` for an unreadable profile.
        """
        return await self.backend.run(self._calls.get_distributor(distributor_id))

    async def get_account(self, account_id: str) -> ResellerAccount:
        """One account.

        Args:
            account_id: the account's id.

        Returns:
            The account with its reselling flag, plan and alias.

        Raises:
            NotFound: no such account.
            BackendError: the BSS failed; ``MalformedResponse`` for an unreadable account.
        """
        return await self.backend.run(self._calls.get_account(account_id))

    async def list_resellers(self, distributor_id: str) -> AsyncIterator[ResellerAccount]:
        """Every account of the distributor with reselling enabled, lazily, page by page.

        Sends ``$filter`` (``wire.reseller_filter``), follows ``links.next`` until it is absent
        or ``paging.totalPages`` is reached, and drops any account that is not a reseller of
        ``distributor_id`` even if the BSS ignored the filter.

        Args:
            distributor_id: the distributor (the resellers' bill-to account).

        Returns:
            An iterator of accounts; a page is fetched only when the previous one is used up.

        Raises:
            BackendError: while iterating, when a page fails.
        """
        pages = self._calls.resellers(distributor_id)
        while (request := pages.next_request()) is not None:
            for row in pages.read(await self.backend.send(request)):
                account = self._calls.reseller(row, distributor_id)
                if account is not None:
                    yield account

    async def patch_account(
        self,
        account_id: str,
        operations: Sequence[PatchOperation],
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Apply a JSON Patch document to an account (``PATCH /api/accounts/{id}``).

        Args:
            account_id: the account's id.
            operations: the operations, in order.
            idempotency_key: makes the write retryable; the same on every retry.

        Raises:
            ValueError: no operation given.
            NotFound: no such account.
            BackendError: the BSS refused or failed.
        """
        await self.backend.run(self._calls.patch_account(account_id, operations, idempotency_key))

    async def place_plan_order(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: BillingCycle,
        idempotency_key: str,
    ) -> PlanOrder:
        """Create a draft order for the plan product (with the alias on the line), execute it.

        Three writes, each with its own key derived from ``idempotency_key``
        (``<key>/order``, ``<key>/item``, ``<key>/checkout``), so a repeat of the whole call
        with the same key finds the same order on a BSS that honours ``Idempotency-Key``.

        Args:
            account_id: the ordering account.
            product_id: the plan product's id in the catalog.
            alias: the Storefront Alias for the order line (Standard), or None.
            billing_cycle: ``"monthly"`` or ``"annual"``.
            idempotency_key: one key for this logical order, the same on every retry.

        Returns:
            The executed order, with the created subscription id when the checkout names it.

        Raises:
            ValueError: an unknown billing cycle.
            NotFound: no such account or product.
            Forbidden: the API user may not order (``api_user_plan`` says why).
            BackendError: the BSS refused or failed.
        """
        return await self.backend.run(
            self._calls.place_plan_order(
                account_id, product_id, alias, billing_cycle, idempotency_key
            )
        )

    async def get_subscription(self, platform_subscription_id: str) -> PlatformSubscription:
        """One subscription as the BSS reports it.

        Args:
            platform_subscription_id: the platform's subscription id.

        Returns:
            Its id, status, account and product.

        Raises:
            NotFound: no such subscription.
            BackendError: the BSS failed.
        """
        return await self.backend.run(self._calls.get_subscription(platform_subscription_id))

    async def platform_status(self, platform_subscription_id: str) -> PlatformStatus:
        """What the BSS shows of one platform subscription (:meth:`get_subscription`'s status,
        mapped by ``wire.platform_status_of``).

        Raises:
            NotFound: no such subscription.
            BackendError: the BSS failed.
        """
        return await self.backend.run(self._calls.platform_status(platform_subscription_id))

    async def platform_subscriptions_of(
        self, account_id: str, product_id: str
    ) -> dict[str, PlatformStatus]:
        """The account's subscriptions of the product, by id, with their status.

        Lists ``wire.subscriptions_route`` with ``$filter`` (``wire.subscription_filter``),
        page by page, and keeps only the rows that name this account and this product, even if
        the BSS ignored the filter: a row that names neither is dropped, never guessed.

        Args:
            account_id: the subscribing account.
            product_id: the plan product.

        Returns:
            Platform subscription id → status; empty when the account has none.

        Raises:
            BackendError: the BSS failed; ``MalformedResponse`` for an unreadable row.
        """
        return await self.backend.run(self._calls.platform_subscriptions_of(account_id, product_id))

    async def cancel_subscription(
        self, platform_subscription_id: str, *, idempotency_key: str
    ) -> None:
        """Cancel the subscription immediately (``POST /api/subscriptions/{id}/cancel``).

        A refusal (400 or 409) of a subscription that is already cancelled counts as done.

        Args:
            platform_subscription_id: the platform's subscription id.
            idempotency_key: the same on every retry of this cancellation.

        Raises:
            NotFound: no such subscription.
            Forbidden: the API user may not cancel (a Free-plan reseller API user).
            BackendError: the BSS refused or failed.
        """
        await self.backend.run(
            self._calls.cancel_subscription(platform_subscription_id, idempotency_key)
        )

    async def suspend_subscription(
        self, platform_subscription_id: str, *, idempotency_key: str
    ) -> None:
        """Suspend the subscription (``POST /api/subscriptions/{id}/suspend``, route inferred).

        A refusal (400 or 409) of a subscription that is already suspended counts as done.

        Args:
            platform_subscription_id: the platform's subscription id.
            idempotency_key: the same on every retry of this suspension.

        Raises:
            NotFound: no such subscription.
            BackendError: the BSS refused or failed.
        """
        await self.backend.run(
            self._calls.suspend_subscription(platform_subscription_id, idempotency_key)
        )

    async def resume_subscription(
        self, platform_subscription_id: str, *, idempotency_key: str
    ) -> None:
        """Resume a suspended subscription (``POST /api/subscriptions/{id}/resume``, inferred).

        A refusal (400 or 409) of a subscription that is already active counts as done.

        Args:
            platform_subscription_id: the platform's subscription id.
            idempotency_key: the same on every retry of this resumption.

        Raises:
            NotFound: no such subscription.
            BackendError: the BSS refused or failed.
        """
        await self.backend.run(
            self._calls.resume_subscription(platform_subscription_id, idempotency_key)
        )

    async def provision_license(self, account_id: str, plan: Plan, *, idempotency_key: str) -> None:
        """Provision the Reseller Plan license for ``plan`` on the account.

        A JSON Patch ``replace`` of ``wire.license_path`` (``/resellerPlan``) with
        ``wire.license_values[plan]``: repeating it is harmless.

        Args:
            account_id: the account.
            plan: Free or Standard.
            idempotency_key: the same on every retry of this provisioning.

        Raises:
            ValueError: ``plan`` is Basic (revoke the license instead).
            NotFound: no such account.
            BackendError: the BSS refused or failed.
        """
        await self.backend.run(self._calls.provision_license(account_id, plan, idempotency_key))

    async def revoke_license(self, account_id: str, *, idempotency_key: str) -> None:
        """Revoke the account's Reseller Plan license: back to Basic.

        Args:
            account_id: the account.
            idempotency_key: the same on every retry of this revocation.

        Raises:
            NotFound: no such account.
            BackendError: the BSS refused or failed.
        """
        await self.backend.run(self._calls.revoke_license(account_id, idempotency_key))

    async def licensed_plan(self, account_id: str) -> Plan:
        """The plan the account's Reseller Plan license names: the account's
        ``wire.account_plan_member`` (``resellerPlan``), as :meth:`get_account` reads it.

        Raises:
            NotFound: no such account.
            BackendError: the BSS failed.
        """
        return await self.backend.run(self._calls.licensed_plan(account_id))
