"""Everything about the BSS wire that the platform does not document, in one place.

Each fact is marked **D** (documented), **O** (observed in independent clients of live
tenants) or **I** (inferred: our reading or our decision); ``docs/adapters.md`` ("Where each
default comes from") explains the marks and names the sources cited in parentheses. What is
documented (``/oauth/token``, ``Authorization: Bearer``, ``X-Api-Version``, ``/api/accounts``,
the order routes, ``/api/subscriptions/{id}/cancel``, JSON Patch) is coded in the client.
Everything else is a field of :class:`BSSWireConfig`, with its provenance in the field's
description, so a tenant that spells something differently is one keyword argument away; check
the tenant's Swagger (``https://<bss host>/apidocs``) before relying on an **I** default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from reseller_plans.domain.accounts import Edition, ServiceManagerState
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import PlatformStatus

__all__ = ["BSSWireConfig", "normalize_label"]


def normalize_label(text: str) -> str:
    """A label as a lowercase snake-case key (``"Diamond with Distribution Rights"`` →
    ``"diamond_with_distribution_rights"``).

    Args:
        text: the label as the platform spells it.

    Returns:
        The normalized key.
    """
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


@attrs.frozen
class BSSWireConfig:
    """Member names, routes and values of the BSS API that are not documented.

    Every default below is marked with its provenance (``docs/adapters.md``): **D**
    documented, **O** observed in independent live clients, **I** inferred (our decision).

    Attributes:
        organization_route: GET route of the distributor's own organization. **I** (no public
            route; the profile could also live in settings).
        organization_id_member: the organization's id. **I**
        organization_name_member: its name. **I**
        edition_member: its platform edition label (``"Diamond"``). **I**
        addons_member: a list of the labels of its active add-ons. **I**
        service_manager_member: status label of the for Resellers Service Manager. **I**
        storefront_host_member: the host of its Storefront. **I**
        staff_email_member: where provisioning failures are reported. **I**
        edition_aliases: extra edition labels, normalized (:func:`normalize_label`) → edition;
            a label equal to an ``Edition`` value needs no entry. **I**
        addon_aliases: normalized add-on labels → our add-on ids. **I**
        service_manager_aliases: normalized status labels → state. **I**
        products_route: the paged product catalog. **O** (O-REACT)
        product_id_member: a product's id. **O** (O-REACT: ``id``, a string)
        product_code_member: a product's code. **O** (O-REACT: ``code``)
        plan_product_codes: plan → the code of its product in the catalog. **I** (our Get
            Services Definition: ``ResellerPlanFree``, ``ResellerPlanStandard``)
        accounts_route: accounts. **D** (FLT, RN68)
        reselling_members: the "Enable Reselling" flag, first present wins. **D**
            ``resellingEnabled`` (FLTO), **O** ``enableReselling`` (API 2.x, O-PHP)
        bill_to_object_member: the v3 object naming the bill-to account (``{"id": …}``). **O**
            (O-PY)
        bill_to_id_member: the scalar bill-to account id (the filter property). **D** (FLTO)
        account_plan_member: the account's current reseller plan (the license). **I**
        account_alias_member: the account's Storefront Alias. **I**
        reseller_filter: the ``$filter`` that lists a distributor's resellers; ``{distributor}``
            is replaced by the distributor id (quoted when not a number). ``resellingEnabled eq
            true`` is **D** (FLT); the ``billToAccountId`` clause is **I**.
        page_size: ``pageSize`` asked for. **O** (50 and 500 seen)
        paging_*: members of the paging envelope ``{data, paging:{totalPages}, links:{next}}``.
            **O** (O-REACT, O-PY); the rule "absent or null next ends the list" is **I**
        orders_route: orders; ``POST`` creates a Draft, ``/{id}/items``, ``/{id}/checkout``. **D**
            (ORD)
        order_account_member: the account on the create-order body. **I**
        item_product_member, item_quantity_member, item_billing_cycle_member,
        item_attributes_member: members of the order-item body. **I**
        alias_attribute: the item attribute that carries the alias (``{"name", "value"}``). **I**
            (A.11: an ``OrderCharacteristic`` named ``StorefrontAlias``)
        billing_cycles: our cycle (``monthly``/``annual``) → the wire value. **I** (A.11
            ``Monthly``, ``Annually``)
        order_id_member: the id of a created order. **I**
        checkout_subscription_members: members of the checkout response that may name the
            created subscription id, first present wins; also read inside the first element
            of ``checkout_subscription_lists``. **I**
        checkout_subscription_lists: list members of the checkout response holding created
            subscriptions or items. **I**
        subscriptions_route: subscriptions. **D** (SUBS)
        cancel_action: ``POST {route}/{id}/<action>`` cancels immediately. **D** (SUBS)
        suspend_action, resume_action: the same shape for suspend and resume. **I**
        subscription_status_member: the business status. **O** (O-PY)
        subscription_filter: the ``$filter`` that lists an account's subscriptions;
            ``{account}`` is replaced by the account id (quoted when not a number). **I** (the
            list and ``$filter`` are **D**, SUBS; the property name is not documented)
        subscription_account_object_member: the object naming the subscribing account
            (``{"id": …}``). **O** (O-PY)
        subscription_account_id_member: the scalar subscribing account id, read when the
            object is absent. **I**
        subscription_product_member: the subscribed product's id. **I**
        cancelled_statuses, suspended_statuses, active_statuses: status labels, compared
            case-insensitively. **D** for the enum names (SDK-M ``ServiceStatus``), **I** that
            the API uses them.
        license_path: the JSON Patch path that holds the account's Reseller Plan license. **I**
        license_values: plan → the value patched to ``license_path``. **I**
        read_only_markers: lowercase phrases in a 403 body saying the API user's plan may only
            read (Free-plan reseller API users, D: ORD, SUBS). The phrases are **I**.
        default_token_lifetime: seconds a token is trusted when the token response has no
            ``expires_in``. **I** (B.2: lifetime undocumented)
        token_refresh_margin: a token is renewed this many seconds before it expires. **I**
        numeric_ids: ids made only of digits are sent as JSON numbers (``"accountId": 42``). **O**
            (ids are ints in FLTO and O-PHP)
    """

    organization_route: str = "/api/organization"
    organization_id_member: str = "id"
    organization_name_member: str = "name"
    edition_member: str = "edition"
    addons_member: str = "activeAddons"
    service_manager_member: str = "serviceManagerStatus"
    storefront_host_member: str = "storefrontHost"
    staff_email_member: str = "staffEmail"
    edition_aliases: Mapping[str, Edition] = attrs.field(
        factory=lambda: {
            "diamond_with_distribution": Edition.DIAMOND_WITH_DISTRIBUTION_RIGHTS,
            "diamond_distribution_rights": Edition.DIAMOND_WITH_DISTRIBUTION_RIGHTS,
        }
    )
    addon_aliases: Mapping[str, str] = attrs.field(
        factory=lambda: {
            "standard_edition_resellers_add_on": "standard_edition_resellers",
            "standard_edition_resellers_addon": "standard_edition_resellers",
            "standard_edition_reseller": "standard_edition_resellers",
        }
    )
    service_manager_aliases: Mapping[str, ServiceManagerState] = attrs.field(
        factory=lambda: {
            "activated": ServiceManagerState.ACTIVE,
            "enabled": ServiceManagerState.ACTIVE,
            "synchronized": ServiceManagerState.ACTIVE,
            "notinstalled": ServiceManagerState.NOT_INSTALLED,
            "none": ServiceManagerState.NOT_INSTALLED,
            "deactivated": ServiceManagerState.INACTIVE,
            "disabled": ServiceManagerState.INACTIVE,
            "pending": ServiceManagerState.INACTIVE,
            "error": ServiceManagerState.FAILED,
            "activation_failed": ServiceManagerState.FAILED,
        }
    )
    products_route: str = "/api/products"
    product_id_member: str = "id"
    product_code_member: str = "code"
    plan_product_codes: Mapping[Plan, str] = attrs.field(
        factory=lambda: {Plan.FREE: "ResellerPlanFree", Plan.STANDARD: "ResellerPlanStandard"}
    )
    accounts_route: str = "/api/accounts"
    reselling_members: tuple[str, ...] = ("resellingEnabled", "enableReselling")
    bill_to_object_member: str = "billToAccount"
    bill_to_id_member: str = "billToAccountId"
    account_plan_member: str = "resellerPlan"
    account_alias_member: str = "storefrontAlias"
    reseller_filter: str = "resellingEnabled eq true and billToAccountId eq {distributor}"
    page_size: int = attrs.field(default=100, validator=attrs.validators.in_(range(1, 1001)))
    paging_data_member: str = "data"
    paging_member: str = "paging"
    paging_total_pages_member: str = "totalPages"
    paging_links_member: str = "links"
    paging_next_member: str = "next"
    orders_route: str = "/api/orders"
    order_account_member: str = "accountId"
    item_product_member: str = "productId"
    item_quantity_member: str = "quantity"
    item_billing_cycle_member: str = "billingCycle"
    item_attributes_member: str = "attributes"
    alias_attribute: str = "StorefrontAlias"
    billing_cycles: Mapping[str, str] = attrs.field(
        factory=lambda: {"monthly": "Monthly", "annual": "Annually"}
    )
    order_id_member: str = "id"
    checkout_subscription_members: tuple[str, ...] = ("subscriptionId", "subscriptionID")
    checkout_subscription_lists: tuple[str, ...] = ("subscriptions", "items")
    subscriptions_route: str = "/api/subscriptions"
    cancel_action: str = "cancel"
    suspend_action: str = "suspend"
    resume_action: str = "resume"
    subscription_status_member: str = "status"
    subscription_filter: str = "accountId eq {account}"
    subscription_account_object_member: str = "account"
    subscription_account_id_member: str = "accountId"
    subscription_product_member: str = "productId"
    cancelled_statuses: tuple[str, ...] = ("cancelled", "canceled")
    suspended_statuses: tuple[str, ...] = ("suspended",)
    active_statuses: tuple[str, ...] = ("active",)
    license_path: str = "/resellerPlan"
    license_values: Mapping[Plan, str] = attrs.field(
        factory=lambda: {Plan.BASIC: "Basic", Plan.FREE: "Free", Plan.STANDARD: "Standard"}
    )
    read_only_markers: tuple[str, ...] = (
        "free plan",
        "free edition",
        "read-only",
        "read only",
        "may only read",
        "can only read",
    )
    default_token_lifetime: float = 300.0
    token_refresh_margin: float = 30.0
    numeric_ids: bool = True

    def filter_for(self, distributor_id: str) -> str:
        """The ``$filter`` that lists the distributor's resellers.

        Args:
            distributor_id: the distributor (its bill-to account id).

        Returns:
            ``reseller_filter`` with the id in place (quoted when not a number).
        """
        return self.reseller_filter.format(distributor=_literal(distributor_id))

    def subscriptions_filter_for(self, account_id: str) -> str:
        """The ``$filter`` that lists the account's subscriptions.

        Args:
            account_id: the subscribing account.

        Returns:
            ``subscription_filter`` with the id in place (quoted when not a number).
        """
        return self.subscription_filter.format(account=_literal(account_id))

    def platform_status_of(self, label: str) -> PlatformStatus:
        """The status a label names (case-insensitively): ``cancelled_statuses``,
        ``suspended_statuses``, ``active_statuses``, else ``PlatformStatus.OTHER``.

        Args:
            label: the subscription's ``subscription_status_member``.

        Returns:
            What the status means for the reads after a takeover.
        """
        lowered = label.strip().lower()
        for statuses, status in (
            (self.cancelled_statuses, PlatformStatus.CANCELLED),
            (self.suspended_statuses, PlatformStatus.SUSPENDED),
            (self.active_statuses, PlatformStatus.ACTIVE),
        ):
            if lowered in {s.lower() for s in statuses}:
                return status
        return PlatformStatus.OTHER

    def plan_of_license(self, value: str) -> Plan | None:
        """The plan a license value names (case-insensitively).

        Args:
            value: the value of ``license_path`` on an account.

        Returns:
            The plan, or None for a value we do not know.
        """
        lowered = value.strip().lower()
        for plan, text in self.license_values.items():
            if text.lower() == lowered:
                return plan
        return None


def _literal(value: str) -> str:
    """An OData literal: a number as it is, anything else quoted (quotes doubled)."""
    if value.isascii() and value.isdigit():
        return value
    return "'" + value.replace("'", "''") + "'"
