"""The Storefront's routes and member names: all inferred, all configurable.

The platform publishes no API for reseller storefronts, aliases or baskets (its older, documented
Storefront API authenticates with ``X-ApiKey``, which we keep). Every default below is
**I** (our decision) and is what ``reseller_plans.testing.emulator`` speaks; point them at the
tenant's real routes with :class:`StorefrontWireConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import StorefrontStatus

__all__ = ["StorefrontWireConfig"]


@attrs.frozen
class StorefrontWireConfig:
    """Routes and member names of the Storefront API (every default **I**).

    Attributes:
        api_key_header: the header that carries the API key. **D** for the older Storefront API
            (``X-ApiKey``, kb.interworks.cloud), **I** that this one takes it too.
        alias_route: ``GET`` (404 free, 200 ``{accountId}`` held), ``PUT {accountId}`` (409
            taken) and ``DELETE ?accountId=`` of one alias; ``{alias}`` is replaced.
        alias_account_member: the holder's account id in alias bodies.
        storefront_route: the reseller's storefront; ``{account_id}`` is replaced. ``GET`` it
            → ``{status}`` (404: none); ``/activate`` ``{alias, plan}`` → ``{url}``,
            ``/suspend``, ``/resume``, ``/deactivate`` are appended.
        status_member: the storefront's status in its ``GET`` body.
        status_values: the wire value of each status → what it means (any other value is a
            ``MalformedResponse``: an unknown status is never taken for "none").
        activate_alias_member, activate_plan_member: members of the activate body.
        plan_values: plan → the value of ``activate_plan_member``.
        url_member: the storefront URL in the activate response.
        baskets_route: ``POST {accountId}`` creates a basket (a draft order) → ``{id}``; then
            ``/{id}/items`` and ``/{id}/checkout`` → ``{orderId, subscriptionId}``.
        basket_account_member, basket_id_member: members of the basket body and response.
        item_product_member, item_billing_cycle_member, item_attributes_member: basket item.
        alias_attribute: the attribute that carries the alias at checkout.
        billing_cycles: our cycle → the wire value.
        checkout_order_member, checkout_subscription_member: members of the checkout response.
        numeric_ids: ids made only of digits are sent as JSON numbers.
    """

    api_key_header: str = "X-ApiKey"
    alias_route: str = "/api/storefront/aliases/{alias}"
    alias_account_member: str = "accountId"
    storefront_route: str = "/api/storefront/resellers/{account_id}/storefront"
    status_member: str = "status"
    status_values: Mapping[str, StorefrontStatus] = attrs.field(
        factory=lambda: {
            "Active": StorefrontStatus.LIVE,
            "Suspended": StorefrontStatus.SUSPENDED,
            "Inactive": StorefrontStatus.NONE,
        }
    )
    activate_alias_member: str = "alias"
    activate_plan_member: str = "plan"
    plan_values: Mapping[Plan, str] = attrs.field(
        factory=lambda: {Plan.FREE: "Free", Plan.STANDARD: "Standard", Plan.BASIC: "Basic"}
    )
    url_member: str = "url"
    baskets_route: str = "/api/storefront/baskets"
    basket_account_member: str = "accountId"
    basket_id_member: str = "id"
    item_product_member: str = "productId"
    item_billing_cycle_member: str = "billingCycle"
    item_attributes_member: str = "attributes"
    alias_attribute: str = "StorefrontAlias"
    billing_cycles: Mapping[str, str] = attrs.field(
        factory=lambda: {"monthly": "Monthly", "annual": "Annually"}
    )
    checkout_order_member: str = "orderId"
    checkout_subscription_member: str = "subscriptionId"
    numeric_ids: bool = True
