"""The facts about distributors and reseller accounts that plans and eligibility read.

These are read from the BSS by an adapter and handed to the pure domain as values.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Iterable, Mapping

import attrs

from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.plans import Plan

__all__ = [
    "ELIGIBLE_EDITIONS",
    "STANDARD_EDITION_RESELLERS_ADDON",
    "DistributorProfile",
    "Edition",
    "ResellerAccount",
    "ServiceManagerState",
]


class Edition(enum.Enum):
    """The distributor organization's platform edition."""

    ESSENTIALS = "essentials"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"
    DIAMOND = "diamond"
    DIAMOND_WITH_DISTRIBUTION_RIGHTS = "diamond_with_distribution_rights"

    @property
    def title(self) -> str:
        """The edition's name as a person reads it."""
        return self.value.replace("_", " ").title().replace("With", "with")


ELIGIBLE_EDITIONS = frozenset({Edition.DIAMOND, Edition.DIAMOND_WITH_DISTRIBUTION_RIGHTS})
"""Editions whose distributors may upgrade resellers."""

STANDARD_EDITION_RESELLERS_ADDON = "standard_edition_resellers"
"""The add-on that must be active for any upgrade."""


class ServiceManagerState(enum.Enum):
    """State of the "for Resellers Service Manager" in the distributor organization."""

    NOT_INSTALLED = "not_installed"
    INACTIVE = "inactive"
    FAILED = "failed"
    ACTIVE = "active"


def _addon_ids(addons: Iterable[str]) -> frozenset[str]:
    if isinstance(addons, str):
        raise InvalidInput("active_addons takes a collection of add-on ids, not one string")
    return frozenset(addons)


def _plan_products(products: Mapping[Plan, str]) -> Mapping[Plan, str]:
    return types.MappingProxyType(dict(products))


@attrs.frozen
class DistributorProfile:
    """What eligibility needs to know about a distributor.

    Attributes:
        id: the distributor organization's id.
        name: its name, for messages.
        edition: its platform edition.
        active_addons: ids of its active add-ons.
        service_manager: state of the for Resellers Service Manager.
        plan_products: the plan products in its catalog, plan → product id (put there by Get
            Services Definition).
        storefront_host: the host of its Storefront (``cloud.disti.com``).
        staff_email: where provisioning failures are reported.
    """

    id: str
    name: str
    edition: Edition
    active_addons: frozenset[str] = attrs.field(converter=_addon_ids, factory=frozenset)
    service_manager: ServiceManagerState = ServiceManagerState.ACTIVE
    plan_products: Mapping[Plan, str] = attrs.field(
        factory=dict, converter=_plan_products, hash=False
    )
    storefront_host: str = ""
    staff_email: str = ""

    def product_for(self, plan: Plan) -> str | None:
        """The catalog product id of ``plan``, or None when it is not in the catalog."""
        return self.plan_products.get(plan)


@attrs.frozen
class ResellerAccount:
    """A reseller account under a distributor, as the BSS knows it.

    Attributes:
        id: the account id.
        distributor_id: the distributor it belongs to.
        name: the account's name.
        email: the contact email that receives plan messages.
        reselling_enabled: "Enable Reselling" (``resellingEnabled`` in the BSS API).
        plan: the plan it is on now.
        alias: its Storefront Alias, once it has one.
    """

    id: str
    distributor_id: str
    name: str
    email: str
    reselling_enabled: bool = True
    plan: Plan = Plan.BASIC
    alias: StorefrontAlias | None = None
