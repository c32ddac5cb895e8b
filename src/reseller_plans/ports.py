"""The ports: what ``ResellerPlans`` needs from the outside world, as ``typing.Protocol``.

One port per outside system. Adapters implement them (``reseller_plans.bss``,
``reseller_plans.storefront``, ``reseller_plans.mail``, ``reseller_plans.stores``), and every port
has a stateful in-memory implementation in ``reseller_plans.testing``.

Where the plan license lives: the **Reseller Plan license** is a platform-side fact about the
account, so its provisioning and revocation are operations of the ``BSS`` port
(``provision_license`` / ``revoke_license``), not a port of their own.

Every operation raises only ``ResellerPlansError`` subclasses: ``NotFound`` for a missing object,
``TransientBackendError`` when a retry may help, ``PermanentBackendError`` when it will not.
Writes take an ``idempotency_key`` that stays the same for every retry of one logical write, so an
adapter may repeat them safely.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import attrs

from reseller_plans.domain.accounts import DistributorProfile, ResellerAccount
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan

__all__ = [
    "BSS",
    "BillingCycle",
    "Clock",
    "EmailMessage",
    "Mailer",
    "PlanOrder",
    "Storefront",
    "SystemClock",
]

BillingCycle = str
"""``"monthly"`` or ``"annual"``."""


@attrs.frozen
class PlanOrder:
    """An executed order for a plan product.

    Attributes:
        order_id: the order's id in the BSS (a Storefront basket is a draft order too).
        platform_subscription_id: the subscription the platform created, when it says.
    """

    order_id: str
    platform_subscription_id: str | None = None


@attrs.frozen
class EmailMessage:
    """One rendered email, ready to send.

    Attributes:
        message_id: stable id derived from the outbox entry; a resend carries the same one.
        kind: which message it is.
        to: recipients.
        subject: the subject line.
        text: the plain-text part.
        html: the HTML alternative.
    """

    message_id: str
    kind: MessageKind
    to: tuple[str, ...]
    subject: str
    text: str
    html: str


@runtime_checkable
class Clock(Protocol):
    """Where time comes from. ``now()`` returns an aware UTC datetime."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class BSS(Protocol):
    """The distributor's business support system."""

    def get_distributor(self, distributor_id: str) -> DistributorProfile:
        """The distributor's profile: edition, add-ons, service manager, plan products."""
        ...

    def get_account(self, account_id: str) -> ResellerAccount:
        """One account. Raises ``NotFound``."""
        ...

    def list_resellers(self, distributor_id: str) -> Iterator[ResellerAccount]:
        """Every account of the distributor with reselling enabled, lazily, page by page."""
        ...

    def place_plan_order(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: BillingCycle,
        idempotency_key: str,
    ) -> PlanOrder:
        """Create a draft order for the plan product (with the alias on the line), execute it."""
        ...

    def cancel_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        """Cancel the platform's subscription immediately (idempotent)."""
        ...

    def suspend_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        """Suspend the platform's subscription (idempotent)."""
        ...

    def resume_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        """Resume a suspended subscription (idempotent)."""
        ...

    def provision_license(self, account_id: str, plan: Plan, *, idempotency_key: str) -> None:
        """Provision the Reseller Plan license for ``plan`` on the account (idempotent)."""
        ...

    def revoke_license(self, account_id: str, *, idempotency_key: str) -> None:
        """Revoke the account's Reseller Plan license, back to Basic (idempotent)."""
        ...


class Storefront(Protocol):
    """The distributor's Storefront: aliases, reseller storefronts, the reseller's purchases."""

    def is_alias_free(self, alias: StorefrontAlias, *, account_id: str) -> bool:
        """True when nobody but ``account_id`` holds or uses the alias."""
        ...

    def hold_alias(self, alias: StorefrontAlias, *, account_id: str) -> None:
        """Reserve the alias for the account. Raises ``AliasTaken``; idempotent for the owner."""
        ...

    def release_alias(self, alias: StorefrontAlias, *, account_id: str) -> None:
        """Give the alias up (idempotent; a no-op when another account holds it)."""
        ...

    def activate_storefront(self, account_id: str, alias: StorefrontAlias, plan: Plan) -> str:
        """Put the reseller's storefront live under its alias; returns its URL (idempotent)."""
        ...

    def suspend_storefront(self, account_id: str) -> None:
        """Take the reseller's storefront offline for a suspension (idempotent)."""
        ...

    def resume_storefront(self, account_id: str) -> None:
        """Put a suspended storefront back online (idempotent)."""
        ...

    def deactivate_storefront(self, account_id: str) -> None:
        """Shut the reseller's storefront down (idempotent)."""
        ...

    def purchase_plan(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: BillingCycle,
        idempotency_key: str,
    ) -> PlanOrder:
        """The reseller buys the plan product itself: basket, alias at checkout, checkout."""
        ...


class Mailer(Protocol):
    """Sends one email. Raises ``TransientBackendError`` or ``PermanentBackendError``."""

    def send(self, message: EmailMessage) -> None: ...
