"""``StorefrontClient``: the ``Storefront`` port over HTTP.

Aliases, reseller storefronts and the reseller's own purchase of a plan, on the routes of
:class:`~reseller_plans.storefront.wire.StorefrontWireConfig`, through the shared
:class:`~reseller_plans.http.BackendClient` (retries, typed errors, redacted logs), with the API
key in a header.

Every storefront write carries an ``Idempotency-Key``, fixed before the first attempt and sent
unchanged on every retry. The caller passes it (``idempotency_key=``: one key per logical write,
the same when the whole call is repeated, so a repeat is not a second write); without one the
client mints a fresh key per call. ``purchase_plan`` derives its keys from the caller's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import AliasTaken
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import StorefrontStatus
from reseller_plans.http.client import (
    ApiKeyAuth,
    BackendAdapter,
    BackendClient,
    Reply,
    Timeouts,
    path_segment,
)
from reseller_plans.http.errors import MalformedResponse
from reseller_plans.http.payload import wire_id
from reseller_plans.http.retry import RetryPolicy
from reseller_plans.logs import Secret
from reseller_plans.ports import BillingCycle, Clock, PlanOrder
from reseller_plans.storefront.wire import StorefrontWireConfig

__all__ = ["StorefrontClient"]


def _new_key() -> str:
    return uuid.uuid4().hex


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
        key_factory: Callable[[], str] = _new_key,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.wire = wire or StorefrontWireConfig()
        self._new_key = key_factory
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

    def _id(self, value: str) -> str | int:
        return wire_id(value, numeric=self.wire.numeric_ids)

    # -- aliases ------------------------------------------------------------------------------

    def _alias_route(self, alias: StorefrontAlias) -> str:
        return self.wire.alias_route.format(alias=path_segment(alias.value))

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
        reply = self.backend.request("GET", self._alias_route(alias), accept=(404,))
        if reply.status == 404:
            return True
        # A 200 says the alias is held; by whom is required, never assumed to be nobody.
        holder = reply.payload().text(self.wire.alias_account_member)
        return holder == str(account_id)

    def hold_alias(self, alias: StorefrontAlias, *, account_id: str) -> None:
        """Reserve the alias for the account (``PUT``; idempotent for the holder).

        Args:
            alias: the alias.
            account_id: the account that takes it.

        Raises:
            AliasTaken: another account holds it (409).
            BackendError: the Storefront failed.
        """
        reply = self.backend.request(
            "PUT",
            self._alias_route(alias),
            json_body={self.wire.alias_account_member: self._id(account_id)},
            accept=(409,),
        )
        if reply.status == 409:
            raise AliasTaken(alias.value)

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
        self.backend.request(
            "DELETE",
            self._alias_route(alias),
            params={self.wire.alias_account_member: account_id},
            idempotency_key=idempotency_key or self._new_key(),
            accept=(404, 409),
        )

    # -- reseller storefronts -----------------------------------------------------------------

    def _storefront_action(
        self,
        account_id: str,
        action: str,
        idempotency_key: str | None,
        json_body: dict[str, Any] | None = None,
        accept: tuple[int, ...] = (),
    ) -> Reply:
        route = self.wire.storefront_route.format(account_id=path_segment(account_id))
        # Fixed here, before the first attempt: BackendClient sends it on every retry.
        key = idempotency_key or self._new_key()
        return self.backend.request(
            "POST", f"{route}/{action}", json_body=json_body or {},
            idempotency_key=key, accept=accept,
        )  # fmt: skip

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
        route = self.wire.storefront_route.format(account_id=path_segment(account_id))
        reply = self.backend.request("GET", route, accept=(404,))
        if reply.status == 404:
            return StorefrontStatus.NONE
        value = reply.payload().text(self.wire.status_member)
        status = self.wire.status_values.get(value)
        if status is None:
            raise MalformedResponse(
                f"Storefront GET {route}: unknown storefront status {value!r}", status=reply.status
            )
        return status

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
        wire = self.wire
        body = {
            wire.activate_alias_member: alias.value,
            wire.activate_plan_member: wire.plan_values[plan],
        }
        reply = self._storefront_action(
            account_id, "activate", idempotency_key, body, accept=(409,)
        )
        if reply.status == 409:
            raise AliasTaken(alias.value)
        return reply.payload().text(wire.url_member)

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
        self._storefront_action(account_id, "suspend", idempotency_key)

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
        self._storefront_action(account_id, "resume", idempotency_key)

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
        self._storefront_action(account_id, "deactivate", idempotency_key, accept=(404,))

    # -- the reseller's own purchase ----------------------------------------------------------

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
        with self.backend.deadline.scope():  # three writes, one deadline
            return self._purchase(account_id, product_id, alias, billing_cycle, idempotency_key)

    def _purchase(
        self,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: BillingCycle,
        idempotency_key: str,
    ) -> PlanOrder:
        wire = self.wire
        cycle = wire.billing_cycles.get(billing_cycle)
        if cycle is None:
            known = ", ".join(sorted(wire.billing_cycles))
            raise ValueError(f"unknown billing cycle {billing_cycle!r}: expected one of {known}")
        basket = self.backend.request(
            "POST",
            wire.baskets_route,
            json_body={wire.basket_account_member: self._id(account_id)},
            idempotency_key=f"{idempotency_key}/basket",
        ).payload()
        basket_id = basket.text(wire.basket_id_member)
        route = f"{wire.baskets_route}/{path_segment(basket_id)}"
        item: dict[str, Any] = {
            wire.item_product_member: self._id(product_id),
            wire.item_billing_cycle_member: cycle,
        }
        if alias is not None:
            item[wire.item_attributes_member] = [
                {"name": wire.alias_attribute, "value": alias.value}
            ]
        self.backend.request(
            "POST", f"{route}/items", json_body=item, idempotency_key=f"{idempotency_key}/item"
        )
        reply = self.backend.request(
            "POST",
            f"{route}/checkout",
            json_body={},
            idempotency_key=f"{idempotency_key}/checkout",
            accept=(409,) if alias is not None else (),
        )
        if reply.status == 409 and alias is not None:
            raise AliasTaken(alias.value)
        done = reply.payload()
        return PlanOrder(
            order_id=done.text(wire.checkout_order_member, default=basket_id),
            platform_subscription_id=done.optional_text(wire.checkout_subscription_member),
        )
