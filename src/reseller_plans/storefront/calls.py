"""Every call of the Storefront port as sans-IO steps: the requests it sends, how it reads them.

:class:`StorefrontCalls` builds each request from
:class:`~reseller_plans.storefront.wire.StorefrontWireConfig`, fixes each write's
``Idempotency-Key`` before the first attempt, and reads each answer. Each call is a
:data:`~reseller_plans.http.steps.Flow`, performed by
:class:`~reseller_plans.storefront.client.StorefrontClient` or its async twin
:class:`~reseller_plans.storefront.async_client.AsyncStorefrontClient`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import AliasTaken
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import StorefrontStatus
from reseller_plans.http.errors import MalformedResponse
from reseller_plans.http.payload import wire_id
from reseller_plans.http.reply import Reply
from reseller_plans.http.steps import Flow, Request, path_segment
from reseller_plans.ports import BillingCycle, PlanOrder
from reseller_plans.storefront.wire import StorefrontWireConfig

__all__ = ["StorefrontCalls", "new_key"]


def new_key() -> str:
    """A fresh idempotency key (uuid4, hex)."""
    return uuid.uuid4().hex


class StorefrontCalls:
    """The calls of the Storefront port, without I/O.

    Args:
        wire: routes and member names.
        key_factory: mints the idempotency key of a write the caller gave none.
    """

    def __init__(self, wire: StorefrontWireConfig, key_factory: Callable[[], str]) -> None:
        self.wire = wire
        self._new_key = key_factory

    def _id(self, value: str) -> str | int:
        return wire_id(value, numeric=self.wire.numeric_ids)

    # -- aliases ------------------------------------------------------------------------------

    def _alias_route(self, alias: StorefrontAlias) -> str:
        return self.wire.alias_route.format(alias=path_segment(alias.value))

    def is_alias_free(self, alias: StorefrontAlias, account_id: str) -> Flow[bool]:
        """404: free; 200: held, free only for its holder (who must be named)."""
        reply = yield Request("GET", self._alias_route(alias), accept=(404,))
        if reply.status == 404:
            return True
        # A 200 says the alias is held; by whom is required, never assumed to be nobody.
        holder = reply.payload().text(self.wire.alias_account_member)
        return holder == str(account_id)

    def hold_alias(self, alias: StorefrontAlias, account_id: str) -> Flow[None]:
        """``PUT`` the holder; 409: another account holds it."""
        reply = yield Request(
            "PUT",
            self._alias_route(alias),
            json_body={self.wire.alias_account_member: self._id(account_id)},
            accept=(409,),
        )
        if reply.status == 409:
            raise AliasTaken(alias.value)

    def release_alias(
        self, alias: StorefrontAlias, account_id: str, idempotency_key: str | None
    ) -> Flow[None]:
        """``DELETE ?accountId=``; 404 and 409 (free, or another's) are done."""
        yield Request(
            "DELETE",
            self._alias_route(alias),
            params={self.wire.alias_account_member: account_id},
            idempotency_key=idempotency_key or self._new_key(),
            accept=(404, 409),
        )

    # -- reseller storefronts -----------------------------------------------------------------

    def _action(
        self,
        account_id: str,
        action: str,
        idempotency_key: str | None,
        json_body: dict[str, Any] | None = None,
        accept: tuple[int, ...] = (),
    ) -> Flow[Reply]:
        route = self.wire.storefront_route.format(account_id=path_segment(account_id))
        # Fixed here, before the first attempt: the backend client sends it on every retry.
        key = idempotency_key or self._new_key()
        return (yield Request("POST", f"{route}/{action}", json_body=json_body or {},
                              idempotency_key=key, accept=accept))  # fmt: skip

    def storefront_status(self, account_id: str) -> Flow[StorefrontStatus]:
        """``GET`` the storefront: its status, ``NONE`` for a 404."""
        route = self.wire.storefront_route.format(account_id=path_segment(account_id))
        reply = yield Request("GET", route, accept=(404,))
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
        self, account_id: str, alias: StorefrontAlias, plan: Plan, idempotency_key: str | None
    ) -> Flow[str]:
        """``/activate`` with the alias and the plan; 409: the alias is taken."""
        wire = self.wire
        body = {
            wire.activate_alias_member: alias.value,
            wire.activate_plan_member: wire.plan_values[plan],
        }
        reply = yield from self._action(account_id, "activate", idempotency_key, body,
                                        accept=(409,))  # fmt: skip
        if reply.status == 409:
            raise AliasTaken(alias.value)
        return reply.payload().text(wire.url_member)

    def suspend_storefront(self, account_id: str, idempotency_key: str | None) -> Flow[None]:
        """``/suspend``."""
        yield from self._action(account_id, "suspend", idempotency_key)

    def resume_storefront(self, account_id: str, idempotency_key: str | None) -> Flow[None]:
        """``/resume``."""
        yield from self._action(account_id, "resume", idempotency_key)

    def deactivate_storefront(self, account_id: str, idempotency_key: str | None) -> Flow[None]:
        """``/deactivate``; a 404 (no storefront at all) is done."""
        yield from self._action(account_id, "deactivate", idempotency_key, accept=(404,))

    # -- the reseller's own purchase ----------------------------------------------------------

    def purchase_plan(
        self,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: BillingCycle,
        idempotency_key: str,
    ) -> Flow[PlanOrder]:
        """Basket, item with the alias, checkout: three keyed writes."""
        wire = self.wire
        cycle = wire.billing_cycles.get(billing_cycle)
        if cycle is None:
            known = ", ".join(sorted(wire.billing_cycles))
            raise ValueError(f"unknown billing cycle {billing_cycle!r}: expected one of {known}")
        basket = (yield Request(
            "POST", wire.baskets_route,
            json_body={wire.basket_account_member: self._id(account_id)},
            idempotency_key=f"{idempotency_key}/basket",
        )).payload()  # fmt: skip
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
        yield Request("POST", f"{route}/items", json_body=item,
                      idempotency_key=f"{idempotency_key}/item")  # fmt: skip
        reply = yield Request(
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
