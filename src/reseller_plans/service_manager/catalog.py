"""The plan products the service manager declares, and how a request names its plan.

``Fields/ServiceDefinition`` ("Get Services Definition") answers one product type,
``ResellerPlans``, with two products, ``ResellerPlanFree`` (costs nothing) and
``ResellerPlanStandard`` (the distributor's prices), and two attributes: the ``ResellerPlan``
drop-down that names the plan on each product (a ProductCharacteristic) and the
``StorefrontAlias`` entered on the order line or at checkout (an OrderCharacteristic). Free
declares Standard as its upgrade; the platform derives the downgrade
(``docs/service-manager.md``).

Names, descriptions, product ids and prices are the distributor's: pass a ``PlanCatalog``.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

import attrs

from reseller_plans.domain.alias import ALIAS_MAX_LENGTH, ALIAS_MIN_LENGTH
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.plans import Plan

__all__ = [
    "ALIAS_ATTRIBUTE",
    "PLAN_ATTRIBUTE",
    "PLAN_CODE_PREFIX",
    "PlanCatalog",
    "PlanPrice",
    "PlanProduct",
]

PLAN_ATTRIBUTE: Final = "ResellerPlan"
"""The ProductCharacteristic naming the plan of a product."""
PLAN_CODE_PREFIX: Final = "ResellerPlan_"
"""Codes of the plan attribute's values: ``ResellerPlan_Free``, ``ResellerPlan_Standard``."""
ALIAS_ATTRIBUTE: Final = "StorefrontAlias"
"""The OrderCharacteristic carrying the Storefront Alias."""

# The platform's enumerations go on the wire as integers, unless its model converts them to names.
_DERIVATIVE_SUBSCRIPTION: Final = 1
_SCOPE_RESELLER: Final = 1
_RESTRICTED_ADDON: Final = 1
_CHARGE_RECURRING_PREPAID: Final = 0
_NOT_EXTERNAL_BILLING: Final = 0
_CYCLE_MONTHLY: Final = 0
_CYCLE_ANNUALLY: Final = 1
_RELATION_UPGRADE: Final = 5
# What a later Get Services Definition may overwrite: name, billing cycles, prices, relations.
_UPDATE_OPTIONS: Final = (1, 2, 5, 6)


def _price(value: object) -> Decimal:
    try:
        price = value if isinstance(value, Decimal) else Decimal(str(value))
    except decimal.InvalidOperation:
        raise InvalidInput(f"a price must be a number, not {value!r}") from None
    if not price.is_finite() or price < 0:
        raise InvalidInput(f"a price must be a finite number of at least 0, not {value!r}")
    return price


def _currency(value: str) -> str:
    code = str(value).strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidInput(f"a currency is a 3-letter ISO 4217 code, not {value!r}")
    return code


@attrs.frozen
class PlanPrice:
    """The price of a plan product in one currency, per billing cycle.

    Attributes:
        currency: ISO 4217 code (``EUR``).
        monthly: the price of a monthly term.
        annually: the price of an annual term.
    """

    currency: str = attrs.field(converter=_currency)
    monthly: Decimal = attrs.field(converter=_price)
    annually: Decimal = attrs.field(converter=_price)

    @property
    def is_free(self) -> bool:
        """True when both cycles cost nothing."""
        return self.monthly == 0 and self.annually == 0


def _prices(prices: object) -> tuple[PlanPrice, ...]:
    if isinstance(prices, PlanPrice):
        return (prices,)
    if not isinstance(prices, list | tuple):
        raise InvalidInput("prices take a sequence of PlanPrice")
    result = tuple(prices)
    if not all(isinstance(p, PlanPrice) for p in result):
        raise InvalidInput("prices take a sequence of PlanPrice")
    if len({p.currency for p in result}) != len(result):
        raise InvalidInput("a plan product has one price per currency")
    return result


def _text(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"expected non-empty text, not {value!r}")
    return value.strip()


@attrs.frozen
class PlanProduct:
    """One plan product as declared to the platform.

    Attributes:
        id: the product's id (and code) in the catalog.
        name: its name in the catalog.
        description: its description.
        prices: its prices, one per currency.
    """

    id: str = attrs.field(converter=_text)
    name: str = attrs.field(converter=_text)
    description: str = ""
    prices: tuple[PlanPrice, ...] = attrs.field(default=(), converter=_prices)


def _product_map(value: Mapping[str, Plan]) -> Mapping[str, Plan]:
    mapped: dict[str, Plan] = {}
    for product_id, plan in dict(value).items():
        if not isinstance(plan, Plan) or not plan.is_subscription:
            raise InvalidInput(f"product {product_id!r} must map to Plan.FREE or Plan.STANDARD")
        mapped[_text(product_id)] = plan
    return MappingProxyType(mapped)


_FREE = PlanProduct(
    "ResellerPlanFree",
    "Reseller Plan: Free",
    "Your own Customer Portal, at no cost.",
    (PlanPrice("EUR", 0, 0),),
)
_STANDARD = PlanProduct(
    "ResellerPlanStandard",
    "Reseller Plan: Standard",
    "Your own white-label Storefront under your alias, your own catalog and branding, and a "
    "Marketplace API that may place orders.",
    (PlanPrice("EUR", Decimal("49.00"), Decimal("490.00")),),
)


@attrs.frozen
class PlanCatalog:
    """What ``Fields/ServiceDefinition`` declares, and the product ids that name a plan.

    Attributes:
        free: the Free plan product; its prices must be zero (none given: zero in each currency
            the Standard product is priced in).
        standard: the Standard plan product, with the distributor's prices.
        product_type_id: the product type id (it comes back as ``ServiceType``).
        product_type_name: its name in the catalog.
        product_type_description: its description.
        portal_url: the service portal link shown with the product type.
        platform_product_ids: further product ids that name a plan (for example the platform's
            own ids when ``ProductID`` is not ours), id → ``Plan.FREE`` or ``Plan.STANDARD``.

    Raises:
        InvalidInput: a Free product with a price, the same id for both products, or a product
            map naming Basic.
    """

    free: PlanProduct = _FREE
    standard: PlanProduct = _STANDARD
    product_type_id: str = attrs.field(default="ResellerPlans", converter=_text)
    product_type_name: str = attrs.field(default="Reseller Plans", converter=_text)
    product_type_description: str = (
        "Reseller plans: the Free plan (own Customer Portal) and the Standard plan (own "
        "white-label Storefront under the reseller's Storefront Alias)."
    )
    portal_url: str = ""
    platform_product_ids: Mapping[str, Plan] = attrs.field(
        factory=dict, converter=_product_map, hash=False
    )

    def __attrs_post_init__(self) -> None:
        if not all(p.is_free for p in self.free.prices):
            raise InvalidInput("the Free plan product must cost nothing in every currency")
        if self.free.id.casefold() == self.standard.id.casefold():
            raise InvalidInput("the Free and Standard products need different ids")

    def product(self, plan: Plan) -> PlanProduct:
        """The product of ``plan``.

        Raises:
            InvalidInput: ``Plan.BASIC``, which is held without a product.
        """
        if plan is Plan.FREE:
            return self.free
        if plan is Plan.STANDARD:
            return self.standard
        raise InvalidInput("the Basic plan has no product: it is held without a subscription")

    def plan_for_code(self, code: str) -> Plan | None:
        """The plan a ``ResellerPlan`` code names (``ResellerPlan_Standard`` or ``Standard``,
        case-insensitively), or None."""
        text = code.strip()
        if text.casefold().startswith(PLAN_CODE_PREFIX.casefold()):
            text = text[len(PLAN_CODE_PREFIX) :]
        text = text.casefold()
        for plan in (Plan.FREE, Plan.STANDARD):
            if plan.value == text:
                return plan
        return None

    def plan_for_product_id(self, product_id: str) -> Plan | None:
        """The plan a product id names: one of ours, else one of ``platform_product_ids``."""
        wanted = product_id.strip().casefold()
        for plan in (Plan.FREE, Plan.STANDARD):
            if self.product(plan).id.casefold() == wanted:
                return plan
        for known, plan in self.platform_product_ids.items():
            if known.casefold() == wanted:
                return plan
        return None

    # ------------------------------------------------------------------ the GSD answer

    def service_definition(self) -> dict[str, object]:
        """The ``ProductTypeCollection`` answered by ``Fields/ServiceDefinition``."""
        return {"ProductTypes": [self._product_type()]}

    def _product_type(self) -> dict[str, object]:
        return {
            "ID": self.product_type_id,
            "Name": self.product_type_name,
            "Description": self.product_type_description,
            "PortalUrl": self.portal_url,
            "EnforceCustomerRequestUpdate": False,
            "AllowMultipleSubscriptions": False,
            "AutoExecuteAddonCancelRequest": False,
            "AutoExecuteSubscriptionCancelRequest": False,
            "AutoExecuteSubscriptionDowngradeRequest": False,
            "QuantityLimit": 1,
            "QuantityLimitLocked": True,
            "Scope": _SCOPE_RESELLER,
            "ServiceLinks": [],
            "Restrictions": [_RESTRICTED_ADDON],
            "ParentAttributeExceptions": [],
            "ProductTypeDependencies": [],
            "ExtraParameters": {},
            "AttributeList": [self._plan_attribute(), self._alias_attribute()],
            "RuleList": [],
            "Icon": None,
            "ExtraInfo": None,
            "AssemblyExtension": None,
            "ProductsCollection": {
                "Products": [
                    self._product(Plan.FREE, upgrade_to=self.standard.id),
                    self._product(Plan.STANDARD, upgrade_to=None),
                ],
                "Addons": [],
            },
            "Derivative": _DERIVATIVE_SUBSCRIPTION,
            "CustomFieldCollection": {"Fields": []},
            "SplitQuantity": False,
            "DefineProductState": False,
        }

    @staticmethod
    def _attribute(
        attribute_id: str,
        name: str,
        description: str,
        sort_order: int,
        usage: str,
        kind: str,
        predefined: list[dict[str, object]],
    ) -> dict[str, object]:
        return {
            "ID": attribute_id,
            "Name": name,
            "Description": description,
            "SortOrder": sort_order,
            "Usage": usage,
            "UsageSpecified": True,
            "Kind": kind,
            "KindSpecified": True,
            "IsRequired": True,
            "IsSyncLocked": 0,
            "LinkedToQuantity": False,
            "AllowUnlimited": False,
            "PredefinedValues": predefined,
            "ExtraParameters": {},
            "SliderMin": 0,
            "SliderMax": 0,
            "SliderStep": 0,
        }

    def _plan_attribute(self) -> dict[str, object]:
        values: list[dict[str, object]] = [
            {
                "ID": PLAN_CODE_PREFIX + plan.title,
                "Code": PLAN_CODE_PREFIX + plan.title,
                "Name": plan.title,
                "IsDefault": plan is Plan.FREE,
                "ResourceId": 0,
                "ExtraParameters": {},
            }
            for plan in (Plan.FREE, Plan.STANDARD)
        ]
        return self._attribute(
            PLAN_ATTRIBUTE,
            "Reseller Plan",
            "The reseller plan this product gives: Free or Standard.",
            1,
            "ProductCharacteristic",
            "PredefinedChooseOne",
            values,
        )

    def _alias_attribute(self) -> dict[str, object]:
        rules = (
            f"{ALIAS_MIN_LENGTH} to {ALIAS_MAX_LENGTH} characters of a-z, 0-9 and '-', starting "
            "with a letter, not ending with '-', no '--', not a reserved word"
        )
        return self._attribute(
            ALIAS_ATTRIBUTE,
            "Storefront Alias",
            f"The path of the reseller's own Storefront under yours ({rules}).",
            2,
            "OrderCharacteristic",
            "Text",
            [],
        )

    def _product(self, plan: Plan, *, upgrade_to: str | None) -> dict[str, object]:
        product = self.product(plan)
        prices = product.prices
        if plan is Plan.FREE and not prices:
            prices = tuple(PlanPrice(p.currency, 0, 0) for p in self.standard.prices)
        code = PLAN_CODE_PREFIX + plan.title
        return {
            "ID": product.id,
            "Code": product.id,
            "Name": product.name,
            "Description": product.description,
            "Attributes": [
                {"ID": PLAN_ATTRIBUTE, "IsPrimaryKey": True, "Values": [code], "Update": True}
            ],
            "ChargeType": _CHARGE_RECURRING_PREPAID,
            "UnitType": "Reseller",
            "ExternalBilling": False,
            "ExternalBillingType": _NOT_EXTERNAL_BILLING,
            "UnitBillingCycles": [_CYCLE_MONTHLY, _CYCLE_ANNUALLY],
            "UpdateOptions": list(_UPDATE_OPTIONS),
            "Derivative": _DERIVATIVE_SUBSCRIPTION,
            "IsActivated": True,
            "EnableCancellation": True,
            "BillingOptionRecurringChargePrepaid": None,
            "BillingOptionRecurringChargePayPerUse": None,
            "TrialEnabled": False,
            "TrialDuration": 0,
            "TrialDurationType": 0,
            "Prices": [
                {
                    "Currency": price.currency,
                    "Units": [
                        _unit(_CYCLE_MONTHLY, price.monthly),
                        _unit(_CYCLE_ANNUALLY, price.annually),
                    ],
                }
                for price in prices
            ],
            "RelatedProducts": (
                []
                if upgrade_to is None
                else [{"ProductID": upgrade_to, "Relation": _RELATION_UPGRADE}]
            ),
        }


def _unit(cycle: int, price: Decimal) -> dict[str, object]:
    return {"BillingCycle": cycle, "Price": _number(price), "Cost": 0}


def _number(value: Decimal) -> int | float:
    # JSON has no decimal type; a whole price travels as an integer, any other as a float.
    return int(value) if value == value.to_integral_value() else float(value)
