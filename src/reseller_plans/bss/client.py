"""``BSSClient``: the ``BSS`` port over the distributor's BSS REST API v3 (``docs/adapters.md``).

Documented routes are coded here; every inferred route, member name and status string comes
from :class:`~reseller_plans.bss.wire.BSSWireConfig`. Requests go through the shared
:class:`~reseller_plans.http.BackendClient` (retries, token refresh, typed errors, redacted logs).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
import httpx

from reseller_plans.bss.oauth import PasswordGrant
from reseller_plans.bss.patch import PatchOperation
from reseller_plans.bss.wire import BSSWireConfig, normalize_label
from reseller_plans.domain.accounts import DistributorProfile, Edition, ResellerAccount
from reseller_plans.domain.accounts import ServiceManagerState as SMState
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import (
    InvalidAlias,
    PermanentBackendError,
    TransientBackendError,
)
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import PlatformStatus
from reseller_plans.http.client import BackendAdapter, BackendClient, Timeouts, path_segment
from reseller_plans.http.errors import BackendNotFound, MalformedResponse
from reseller_plans.http.payload import Payload, wire_id
from reseller_plans.http.retry import RetryPolicy
from reseller_plans.logs import Secret
from reseller_plans.ports import BillingCycle, Clock, PlanOrder, SystemClock

__all__ = ["BSSClient", "PlatformSubscription"]

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


class BSSClient(BackendAdapter):
    """The ``BSS`` port over HTTP.

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
        http_client: an ``httpx.Client`` to use (the caller keeps owning it).
        transport: an httpx transport for the client we make (tests, proxies).

    Use it as a context manager, or call :meth:`close`, to close its connections.
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
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.wire = wire or BSSWireConfig()
        self._clock = clock or SystemClock()
        self._distributor_id = distributor_id
        self._api_user_plan = api_user_plan
        self._grant = PasswordGrant(
            client_key=client_key,
            client_secret=client_secret,
            username=username,
            password=password,
            clock=self._clock,
            default_lifetime=self.wire.default_token_lifetime,
            refresh_margin=self.wire.token_refresh_margin,
        )
        self.backend = BackendClient(
            base_url,
            service="BSS",
            headers={"X-Api-Version": api_version},
            auth=self._grant,
            retry=retry,
            timeouts=timeouts,
            clock=self._clock,
            api_user_plan_detector=self._refused_for_plan,
            http_client=http_client,
            transport=transport,
        )
        self._grant.bind(self.backend)

    @property
    def token_fetches(self) -> int:
        """How many bearer tokens this client fetched so far."""
        return self._grant.fetches

    def __repr__(self) -> str:
        return f"BSSClient(base_url={self.backend.base_url!r}, grant={self._grant!r})"

    def _refused_for_plan(self, _headers: Mapping[str, str], body: str) -> bool:
        if self._api_user_plan is Plan.FREE:
            return True
        lowered = body.lower()
        return any(marker in lowered for marker in self.wire.read_only_markers)

    # -- the distributor ----------------------------------------------------------------------

    def get_distributor(self, distributor_id: str) -> DistributorProfile:
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
        with self.backend.deadline.scope():  # the organization and the catalog, one deadline
            return self._distributor(distributor_id)

    def _distributor(self, distributor_id: str) -> DistributorProfile:
        wire = self.wire
        org = self.backend.get_payload(wire.organization_route)
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
        return DistributorProfile(
            id=org_id,
            name=org.text(wire.organization_name_member, default=""),
            edition=self._edition(org),
            active_addons=addons,
            service_manager=self._service_manager(org),
            plan_products=self._plan_products(),
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

    def _plan_products(self) -> dict[Plan, str]:
        wire = self.wire
        wanted = {code: plan for plan, code in wire.plan_product_codes.items()}
        found: dict[Plan, str] = {}
        for product in self._pages(wire.products_route, {}):
            code = product.optional_text(wire.product_code_member)
            if code is not None and code in wanted:
                found[wanted[code]] = product.text(wire.product_id_member)
                if len(found) == len(wanted):
                    break
        return found

    # -- accounts -----------------------------------------------------------------------------

    def get_account(self, account_id: str) -> ResellerAccount:
        """One account.

        Args:
            account_id: the account's id.

        Returns:
            The account with its reselling flag, plan and alias.

        Raises:
            NotFound: no such account.
            BackendError: the BSS failed; ``MalformedResponse`` for an unreadable account.
        """
        payload = self.backend.get_payload(f"{self.wire.accounts_route}/{path_segment(account_id)}")
        return self._account(payload, default_distributor=self._distributor_id)

    def list_resellers(self, distributor_id: str) -> Iterator[ResellerAccount]:
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
        params = {"$filter": self.wire.filter_for(str(distributor_id))}
        for item in self._pages(self.wire.accounts_route, params):
            account = self._account(item, default_distributor=str(distributor_id))
            if account.reselling_enabled and account.distributor_id == str(distributor_id):
                yield account

    def patch_account(
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
        if not operations:
            raise ValueError("a JSON Patch document needs at least one operation")
        self.backend.request(
            "PATCH",
            f"{self.wire.accounts_route}/{path_segment(account_id)}",
            json_body=[op.to_wire() for op in operations],
            headers={"Content-Type": "application/json-patch+json"},
            idempotency_key=idempotency_key,
        )

    def _account(self, item: Payload, *, default_distributor: str | None) -> ResellerAccount:
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

    def _pages(self, route: str, params: Mapping[str, str]) -> Iterator[Payload]:
        wire = self.wire
        next_url: str | None = route
        query: dict[str, str | int] | None = {**params, "pageIndex": 1,
                                               "pageSize": wire.page_size}  # fmt: skip
        page_number = 0
        seen: set[str] = set()
        while next_url is not None:
            page = self.backend.get_payload(next_url, params=query)
            page_number += 1
            rows = page.items(wire.paging_data_member)
            yield from rows
            links = page.obj(wire.paging_links_member, required=False)
            candidate = links.optional_text(wire.paging_next_member) if links else None
            paging = page.obj(wire.paging_member, required=False)
            total = paging.integer(wire.paging_total_pages_member, default=0) if paging else 0
            if not candidate or not rows or (total and page_number >= total) or candidate in seen:
                return
            seen.add(candidate)
            next_url, query = candidate, None

    # -- orders -------------------------------------------------------------------------------

    def place_plan_order(
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
        with self.backend.deadline.scope():  # three writes, one deadline
            return self._order(account_id, product_id, alias, billing_cycle, idempotency_key)

    def _order(
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
        created = self.backend.request(
            "POST",
            wire.orders_route,
            json_body={wire.order_account_member: wire_id(account_id, numeric=wire.numeric_ids)},
            idempotency_key=f"{idempotency_key}/order",
        ).payload()
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
        self.backend.request(
            "POST", f"{order_route}/items", json_body=item,
            idempotency_key=f"{idempotency_key}/item",
        )  # fmt: skip
        checkout = self.backend.request(
            "POST", f"{order_route}/checkout", json_body={},
            idempotency_key=f"{idempotency_key}/checkout",
        )  # fmt: skip
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

    def get_subscription(self, platform_subscription_id: str) -> PlatformSubscription:
        """One subscription as the BSS reports it.

        Args:
            platform_subscription_id: the platform's subscription id.

        Returns:
            Its id, status, account and product.

        Raises:
            NotFound: no such subscription.
            BackendError: the BSS failed.
        """
        wire = self.wire
        data = self.backend.get_payload(
            f"{wire.subscriptions_route}/{path_segment(platform_subscription_id)}"
        )
        return self._subscription(data)

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

    def platform_status(self, platform_subscription_id: str) -> PlatformStatus:
        """What the BSS shows of one platform subscription (:meth:`get_subscription`'s status,
        mapped by ``wire.platform_status_of``).

        Raises:
            NotFound: no such subscription.
            BackendError: the BSS failed.
        """
        status = self.get_subscription(platform_subscription_id).status
        return self.wire.platform_status_of(status)

    def platform_subscriptions_of(
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
        params = {"$filter": self.wire.subscriptions_filter_for(str(account_id))}
        found: dict[str, PlatformStatus] = {}
        with self.backend.deadline.scope():  # every page, one deadline: a takeover waits on it
            for page, row in enumerate(self._pages(self.wire.subscriptions_route, params)):
                if page >= _MAX_LISTED:
                    raise TransientBackendError(
                        f"the BSS listed more than {_MAX_LISTED} subscriptions of account "
                        f"{account_id} (does it ignore $filter?): cannot tell which is the order"
                    )
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

    def cancel_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
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
        self._subscription_action(
            platform_subscription_id, self.wire.cancel_action, self.wire.cancelled_statuses,
            idempotency_key,
        )  # fmt: skip

    def suspend_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        """Suspend the subscription (``POST /api/subscriptions/{id}/suspend``, route inferred).

        A refusal (400 or 409) of a subscription that is already suspended counts as done.

        Args:
            platform_subscription_id: the platform's subscription id.
            idempotency_key: the same on every retry of this suspension.

        Raises:
            NotFound: no such subscription.
            BackendError: the BSS refused or failed.
        """
        self._subscription_action(
            platform_subscription_id, self.wire.suspend_action, self.wire.suspended_statuses,
            idempotency_key,
        )  # fmt: skip

    def resume_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        """Resume a suspended subscription (``POST /api/subscriptions/{id}/resume``, inferred).

        A refusal (400 or 409) of a subscription that is already active counts as done.

        Args:
            platform_subscription_id: the platform's subscription id.
            idempotency_key: the same on every retry of this resumption.

        Raises:
            NotFound: no such subscription.
            BackendError: the BSS refused or failed.
        """
        self._subscription_action(
            platform_subscription_id, self.wire.resume_action, self.wire.active_statuses,
            idempotency_key,
        )  # fmt: skip

    def _subscription_action(
        self, subscription_id: str, action: str, done: tuple[str, ...], idempotency_key: str
    ) -> None:
        route = f"{self.wire.subscriptions_route}/{path_segment(subscription_id)}/{action}"
        with self.backend.deadline.scope():  # the write and its read-back, one deadline
            try:
                self.backend.request("POST", route, json_body={}, idempotency_key=idempotency_key)
            except PermanentBackendError as refused:
                if refused.status not in (400, 409):
                    raise
                # Already in the target state (a repeat with another key)? Then it is done.
                status = self.get_subscription(subscription_id).status.strip().lower()
                if status not in {s.lower() for s in done}:
                    raise

    # -- the Reseller Plan license ------------------------------------------------------------

    def provision_license(self, account_id: str, plan: Plan, *, idempotency_key: str) -> None:
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
        if plan is Plan.BASIC:
            raise ValueError("the Basic plan has no license: use revoke_license()")
        self._patch_license(account_id, plan, idempotency_key)

    def revoke_license(self, account_id: str, *, idempotency_key: str) -> None:
        """Revoke the account's Reseller Plan license: back to Basic.

        Args:
            account_id: the account.
            idempotency_key: the same on every retry of this revocation.

        Raises:
            NotFound: no such account.
            BackendError: the BSS refused or failed.
        """
        self._patch_license(account_id, Plan.BASIC, idempotency_key)

    def licensed_plan(self, account_id: str) -> Plan:
        """The plan the account's Reseller Plan license names: the account's
        ``wire.account_plan_member`` (``resellerPlan``), as :meth:`get_account` reads it.

        Raises:
            NotFound: no such account.
            BackendError: the BSS failed.
        """
        return self.get_account(account_id).plan

    def _patch_license(self, account_id: str, plan: Plan, idempotency_key: str) -> None:
        value = self.wire.license_values[plan]
        self.patch_account(
            account_id,
            [PatchOperation.replace(self.wire.license_path, value)],
            idempotency_key=idempotency_key,
        )
