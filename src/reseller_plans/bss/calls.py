"""Every call of the BSS port as sans-IO steps: the requests it sends and how it reads them.

:class:`BSSCalls` builds each request from :class:`~reseller_plans.bss.wire.BSSWireConfig` and
reads each answer into our domain types. A call of several requests is a
:data:`~reseller_plans.http.steps.Flow` (a generator that yields
:class:`~reseller_plans.http.steps.Request` objects and is sent their replies), and a paged list
is a :class:`~reseller_plans.bss.pages.Pages` cursor.
:class:`~reseller_plans.bss.client.BSSClient` and
:class:`~reseller_plans.bss.async_client.AsyncBSSClient` perform them: neither has a route, a
member name or a decision of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from reseller_plans.bss.pages import Pages
from reseller_plans.bss.patch import PatchOperation
from reseller_plans.bss.wire import BSSWireConfig, normalize_label
from reseller_plans.domain.accounts import DistributorProfile, Edition, ResellerAccount
from reseller_plans.domain.accounts import ServiceManagerState as SMState
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import InvalidAlias, PermanentBackendError, TransientBackendError
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import PlatformStatus
from reseller_plans.http.errors import BackendNotFound, MalformedResponse
from reseller_plans.http.payload import Payload, wire_id
from reseller_plans.http.steps import Flow, Request, path_segment
from reseller_plans.ports import BillingCycle, PlanOrder

__all__ = ["BSSCalls", "PlatformSubscription"]

_MAX_LISTED = 1_000
"""Subscriptions one account may have listed before a takeover's read gives up (a BSS that
ignores ``$filter`` and lists every subscription it has)."""


@attrs.frozen
class PlatformSubscription:
    """A subscription as the BSS reports it.

    Attributes:
        id: the platform's subscription id.
        status: the business status as the BSS spells it (``"Active"``).
        account_id: the subscribing account, when given.
        product_id: the product, when given.
    """

    id: str
    status: str
    account_id: str | None = None
    product_id: str | None = None


class BSSCalls:
    """The calls of the BSS port, without I/O.

    Args:
        wire: the undocumented parts of the wire.
        distributor_id: the distributor of an account that names none.
        api_user_plan: the plan of the reseller API user, when the credentials are a reseller's.
    """

    def __init__(
        self, wire: BSSWireConfig, *, distributor_id: str | None, api_user_plan: Plan | None
    ) -> None:
        self.wire = wire
        self._distributor_id = distributor_id
        self._api_user_plan = api_user_plan

    def refused_for_plan(self, _headers: Mapping[str, str], body: str) -> bool:
        """Whether a 403 on a write says the API user's plan may only read."""
        if self._api_user_plan is Plan.FREE:
            return True
        lowered = body.lower()
        return any(marker in lowered for marker in self.wire.read_only_markers)

    # -- the distributor ----------------------------------------------------------------------

    def get_distributor(self, distributor_id: str) -> Flow[DistributorProfile]:
        """The organization, then the catalog's pages until every plan product is found."""
        wire = self.wire
        org = (yield Request("GET", wire.organization_route)).payload()
        org_id = org.text(wire.organization_id_member)
        if org_id != str(distributor_id):
            raise BackendNotFound(
                f"BSS GET {wire.organization_route}: this BSS belongs to organization {org_id}, "
                f"not to distributor {distributor_id}",
                status=200,
                request_id=org.request_id,
            )
        # Any: the attrs plugin cannot type the frozenset converter of active_addons.
        addons: Any = frozenset(self._addon(a) for a in org.strings(wire.addons_member))
        name = org.text(wire.organization_name_member, default="")
        edition = self._edition(org)
        service_manager = self._service_manager(org)
        plan_products = yield from self._plan_products()
        return DistributorProfile(
            id=org_id,
            name=name,
            edition=edition,
            active_addons=addons,
            service_manager=service_manager,
            plan_products=plan_products,
            storefront_host=org.text(wire.storefront_host_member, default=""),
            staff_email=org.text(wire.staff_email_member, default=""),
        )

    def _edition(self, org: Payload) -> Edition:
        label = org.text(self.wire.edition_member)
        key = normalize_label(label)
        if key in self.wire.edition_aliases:
            return self.wire.edition_aliases[key]
        for edition in Edition:
            if edition.value == key:
                return edition
        raise org.malformed(f"unknown edition {label!r}")

    def _addon(self, label: str) -> str:
        key = normalize_label(label)
        return self.wire.addon_aliases.get(key, key)

    def _service_manager(self, org: Payload) -> SMState:
        label = org.text(self.wire.service_manager_member, default="not_installed")
        key = normalize_label(label)
        if key in self.wire.service_manager_aliases:
            return self.wire.service_manager_aliases[key]
        for state in SMState:
            if state.value == key:
                return state
        raise org.malformed(f"unknown service manager status {label!r}")

    def _plan_products(self) -> Flow[dict[Plan, str]]:
        wire = self.wire
        wanted = {code: plan for plan, code in wire.plan_product_codes.items()}
        found: dict[Plan, str] = {}
        pages = Pages(wire, wire.products_route, {})
        while (request := pages.next_request()) is not None:
            for product in pages.read((yield request)):
                code = product.optional_text(wire.product_code_member)
                if code is not None and code in wanted:
                    found[wanted[code]] = product.text(wire.product_id_member)
                    if len(found) == len(wanted):
                        return found
        return found

    # -- accounts -----------------------------------------------------------------------------

    def get_account(self, account_id: str) -> Flow[ResellerAccount]:
        """One account."""
        route = f"{self.wire.accounts_route}/{path_segment(account_id)}"
        payload = (yield Request("GET", route)).payload()
        return self.account(payload, default_distributor=self._distributor_id)

    def resellers(self, distributor_id: str) -> Pages:
        """The pages of the distributor's resellers (``$filter``: ``wire.reseller_filter``)."""
        params = {"$filter": self.wire.filter_for(str(distributor_id))}
        return Pages(self.wire, self.wire.accounts_route, params)

    def reseller(self, row: Payload, distributor_id: str) -> ResellerAccount | None:
        """A listed account, when it is a reseller of ``distributor_id`` (whatever the filter
        the BSS applied), else None."""
        account = self.account(row, default_distributor=str(distributor_id))
        if account.reselling_enabled and account.distributor_id == str(distributor_id):
            return account
        return None

    def patch_account(
        self, account_id: str, operations: Sequence[PatchOperation], idempotency_key: str | None
    ) -> Flow[None]:
        """A JSON Patch of the account."""
        if not operations:
            raise ValueError("a JSON Patch document needs at least one operation")
        yield Request(
            "PATCH",
            f"{self.wire.accounts_route}/{path_segment(account_id)}",
            json_body=[op.to_wire() for op in operations],
            headers={"Content-Type": "application/json-patch+json"},
            idempotency_key=idempotency_key,
        )

    def account(self, item: Payload, *, default_distributor: str | None) -> ResellerAccount:
        """An account read from its JSON."""
        wire = self.wire
        bill_to = item.obj(wire.bill_to_object_member, required=False)
        if bill_to is not None and bill_to.has("id"):
            distributor = bill_to.text("id")
        elif item.has(wire.bill_to_id_member):
            distributor = item.text(wire.bill_to_id_member)
        elif default_distributor is not None:
            distributor = default_distributor
        else:
            raise item.malformed(
                f"neither {wire.bill_to_object_member!r} nor {wire.bill_to_id_member!r} names "
                "the account's distributor (pass distributor_id= to BSSClient)"
            )
        plan = Plan.BASIC
        license_value = item.optional_text(wire.account_plan_member)
        if license_value is not None and license_value.strip():
            parsed = wire.plan_of_license(license_value)
            if parsed is None:
                raise item.malformed(f"unknown reseller plan {license_value!r}")
            plan = parsed
        alias_text = item.optional_text(wire.account_alias_member)
        alias: StorefrontAlias | None = None
        if alias_text:
            try:
                alias = StorefrontAlias.parse(alias_text)
            except InvalidAlias:
                alias = None  # an alias we cannot use is no alias; the domain asks for one
        return ResellerAccount(
            id=item.text("id"),
            distributor_id=distributor,
            name=item.text("name"),
            email=item.text("email", default=""),
            reselling_enabled=item.flag(*wire.reselling_members, default=False),
            plan=plan,
            alias=alias,
        )

    # -- orders -------------------------------------------------------------------------------

    def place_plan_order(
        self,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: BillingCycle,
        idempotency_key: str,
    ) -> Flow[PlanOrder]:
        """Create the draft order, add the plan's line, check out: three keyed writes."""
        wire = self.wire
        cycle = wire.billing_cycles.get(billing_cycle)
        if cycle is None:
            known = ", ".join(sorted(wire.billing_cycles))
            raise ValueError(f"unknown billing cycle {billing_cycle!r}: expected one of {known}")
        created = (yield Request(
            "POST", wire.orders_route,
            json_body={wire.order_account_member: wire_id(account_id, numeric=wire.numeric_ids)},
            idempotency_key=f"{idempotency_key}/order",
        )).payload()  # fmt: skip
        order_id = created.text(wire.order_id_member)
        order_route = f"{wire.orders_route}/{path_segment(order_id)}"
        item: dict[str, Any] = {
            wire.item_product_member: wire_id(product_id, numeric=wire.numeric_ids),
            wire.item_quantity_member: 1,
            wire.item_billing_cycle_member: cycle,
        }
        if alias is not None:
            item[wire.item_attributes_member] = [
                {"name": wire.alias_attribute, "value": alias.value}
            ]
        yield Request("POST", f"{order_route}/items", json_body=item,
                      idempotency_key=f"{idempotency_key}/item")  # fmt: skip
        checkout = yield Request("POST", f"{order_route}/checkout", json_body={},
                                 idempotency_key=f"{idempotency_key}/checkout")  # fmt: skip
        subscription_id = None
        if checkout.content.strip():
            subscription_id = self._created_subscription(checkout.payload())
        return PlanOrder(order_id=order_id, platform_subscription_id=subscription_id)

    def _created_subscription(self, checkout: Payload) -> str | None:
        wire = self.wire
        found = checkout.optional_text(*wire.checkout_subscription_members)
        if found is not None:
            return found
        for row in checkout.items(*wire.checkout_subscription_lists, required=False)[:1]:
            return row.optional_text(*wire.checkout_subscription_members, "id")
        return None

    # -- subscriptions ------------------------------------------------------------------------

    def get_subscription(self, platform_subscription_id: str) -> Flow[PlatformSubscription]:
        """One subscription."""
        route = f"{self.wire.subscriptions_route}/{path_segment(platform_subscription_id)}"
        return self._subscription((yield Request("GET", route)).payload())

    def platform_status(self, platform_subscription_id: str) -> Flow[PlatformStatus]:
        """One subscription's status, mapped by ``wire.platform_status_of``."""
        subscription = yield from self.get_subscription(platform_subscription_id)
        return self.wire.platform_status_of(subscription.status)

    def _subscription(self, data: Payload) -> PlatformSubscription:
        wire = self.wire
        account = data.obj(wire.subscription_account_object_member, required=False)
        account_id = account.optional_text("id") if account else None
        return PlatformSubscription(
            id=data.text("id"),
            status=data.text(wire.subscription_status_member),
            account_id=account_id or data.optional_text(wire.subscription_account_id_member),
            product_id=data.optional_text(wire.subscription_product_member),
        )

    def platform_subscriptions_of(
        self, account_id: str, product_id: str
    ) -> Flow[dict[str, PlatformStatus]]:
        """The account's subscriptions of the product, every page, rows of others dropped."""
        params = {"$filter": self.wire.subscriptions_filter_for(str(account_id))}
        found: dict[str, PlatformStatus] = {}
        pages = Pages(self.wire, self.wire.subscriptions_route, params)
        listed = 0
        while (request := pages.next_request()) is not None:
            for row in pages.read((yield request)):
                if listed >= _MAX_LISTED:
                    raise TransientBackendError(
                        f"the BSS listed more than {_MAX_LISTED} subscriptions of account "
                        f"{account_id} (does it ignore $filter?): cannot tell which is the order"
                    )
                listed += 1
                if self._names(row, str(account_id), str(product_id)):  # others: never parsed
                    subscription = self._subscription(row)
                    found[subscription.id] = self.wire.platform_status_of(subscription.status)
        return found

    def _names(self, row: Payload, account_id: str, product_id: str) -> bool:
        """Whether a listed subscription names this account and this product (leniently: a row
        of another account is dropped, however malformed the rest of it is)."""
        wire = self.wire
        try:
            account = row.obj(wire.subscription_account_object_member, required=False)
            named = account.optional_text("id") if account else None
            named = named or row.optional_text(wire.subscription_account_id_member)
            product = row.optional_text(wire.subscription_product_member)
        except MalformedResponse:
            return False
        return named == account_id and product == product_id

    def cancel_subscription(self, subscription_id: str, idempotency_key: str) -> Flow[None]:
        """Cancel; a refusal of a subscription already cancelled is done."""
        wire = self.wire
        done = wire.cancelled_statuses
        return self._subscription_action(subscription_id, wire.cancel_action, done, idempotency_key)

    def suspend_subscription(self, subscription_id: str, idempotency_key: str) -> Flow[None]:
        """Suspend; a refusal of a subscription already suspended is done."""
        wire = self.wire
        done = wire.suspended_statuses
        return self._subscription_action(
            subscription_id, wire.suspend_action, done, idempotency_key
        )

    def resume_subscription(self, subscription_id: str, idempotency_key: str) -> Flow[None]:
        """Resume; a refusal of a subscription already active is done."""
        wire = self.wire
        done = wire.active_statuses
        return self._subscription_action(subscription_id, wire.resume_action, done, idempotency_key)

    def _subscription_action(
        self, subscription_id: str, action: str, done: tuple[str, ...], idempotency_key: str
    ) -> Flow[None]:
        """``POST {route}/{id}/<action>``; a 400 or 409 of a subscription already in one of
        the ``done`` statuses is done."""
        wire = self.wire
        route = f"{wire.subscriptions_route}/{path_segment(subscription_id)}/{action}"
        try:
            yield Request("POST", route, json_body={}, idempotency_key=idempotency_key)
        except PermanentBackendError as refused:
            if refused.status not in (400, 409):
                raise
            # Already in the target state (a repeat with another key)? Then it is done.
            subscription = yield from self.get_subscription(subscription_id)
            if subscription.status.strip().lower() not in {s.lower() for s in done}:
                raise

    # -- the Reseller Plan license ------------------------------------------------------------

    def provision_license(self, account_id: str, plan: Plan, idempotency_key: str) -> Flow[None]:
        """The license of a paid plan (Basic has none: revoke it instead)."""
        if plan is Plan.BASIC:
            raise ValueError("the Basic plan has no license: use revoke_license()")
        return self._set_license(account_id, plan, idempotency_key)

    def revoke_license(self, account_id: str, idempotency_key: str) -> Flow[None]:
        """Back to Basic."""
        return self._set_license(account_id, Plan.BASIC, idempotency_key)

    def _set_license(self, account_id: str, plan: Plan, idempotency_key: str) -> Flow[None]:
        """A JSON Patch ``replace`` of ``wire.license_path`` with the plan's license value."""
        value = self.wire.license_values[plan]
        operation = PatchOperation.replace(self.wire.license_path, value)
        yield from self.patch_account(account_id, [operation], idempotency_key)

    def licensed_plan(self, account_id: str) -> Flow[Plan]:
        """The plan of the account's license (as :meth:`get_account` reads it)."""
        return (yield from self.get_account(account_id)).plan
