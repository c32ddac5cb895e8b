"""Reconciliation: what to undo when the backends show more than the subscriptions allow.

Leases keep two live drivers off one subscription, but a process frozen past its lease (a long
GC pause, SIGSTOP, a suspended virtual machine) can wake up in the middle of a call and finish
it after another driver took over: its outcome is refused in the store, yet the backend acted.
A storefront can so go live, or a license be provisioned, for a reseller whose subscription was
cancelled meanwhile.

The service asks for a reconciliation of a subscription whenever that may have happened (a
lease taken over from a driver that never gave it back; a driver that finds its lease lost
after a call), reads what the backends show for the account, and asks :func:`repairs` what to
undo. Only what the account's subscriptions do not allow is undone, never anything provisioned:
a live storefront or a license of an account with no live subscription, and a live storefront
of a suspended one. While the account's live subscription has an operation under way, its saga
decides, and the reconciliation waits.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping

from reseller_plans.domain.plans import Plan
from reseller_plans.domain.saga import SagaStep
from reseller_plans.domain.subscription import StepAction, Subscription
from reseller_plans.domain.subscription import SubscriptionStatus as Status

__all__ = [
    "REPAIRS",
    "PlatformStatus",
    "Probe",
    "StorefrontStatus",
    "must_wait",
    "order_shown",
    "probe_of",
    "repairs",
    "shows_done",
]


class StorefrontStatus(enum.Enum):
    """What the Storefront shows of a reseller's own storefront."""

    LIVE = "live"
    SUSPENDED = "suspended"
    NONE = "none"
    """None at all, or shut down."""


class PlatformStatus(enum.Enum):
    """What the BSS shows of a platform subscription."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    OTHER = "other"
    """Any other status (inactive until its start date, pending cancellation, unknown)."""


REPAIRS = frozenset(
    (StepAction.DEACTIVATE_STOREFRONT, StepAction.SUSPEND_STOREFRONT, StepAction.REVOKE_LICENSE)
)
"""The only calls a reconciliation makes: each takes something away, none provisions."""


def must_wait(live: Subscription | None) -> bool:
    """Whether a reconciliation of the account waits: its live subscription is pending or has
    an operation under way, so its saga decides what the backends should show."""
    return live is not None and (live.operation is not None or live.status is Status.PENDING)


def repairs(
    live: Subscription | None, storefront: StorefrontStatus, licensed: Plan
) -> tuple[StepAction, ...] | None:
    """What to undo on the account, given what the backends show; None to wait.

    Args:
        live: the account's live subscription (pending, active or suspended), if any.
        storefront: the status of the account's storefront in the Storefront.
        licensed: the plan the account's Reseller Plan license names in the BSS.

    Returns:
        The repairs, in the order to make them (storefront first, as a cancellation does), or
        None while the live subscription has an operation under way (its saga decides).
    """
    if must_wait(live):
        return None
    found: list[StepAction] = []
    if live is None:
        if storefront is not StorefrontStatus.NONE:
            found.append(StepAction.DEACTIVATE_STOREFRONT)
        if licensed is not Plan.BASIC:
            found.append(StepAction.REVOKE_LICENSE)
    elif live.status is Status.SUSPENDED and storefront is StorefrontStatus.LIVE:
        found.append(StepAction.SUSPEND_STOREFRONT)
    return tuple(found)


class Probe(enum.Enum):
    """The read that tells whether a step already acted."""

    STOREFRONT = "storefront"
    """``Storefront.storefront_status``"""
    LICENSE = "license"
    """``BSS.licensed_plan``"""
    PLATFORM = "platform"
    """``BSS.platform_status`` of the subscription's platform subscription"""
    ORDER = "order"
    """``BSS.platform_subscriptions_of`` the account for the plan product"""


_SHOWN: dict[StepAction, tuple[Probe, StorefrontStatus | PlatformStatus | None]] = {
    StepAction.PLACE_ORDER: (Probe.ORDER, None),
    StepAction.PROVISION_LICENSE: (Probe.LICENSE, None),
    StepAction.REVOKE_LICENSE: (Probe.LICENSE, None),
    StepAction.ACTIVATE_STOREFRONT: (Probe.STOREFRONT, StorefrontStatus.LIVE),
    StepAction.RESUME_STOREFRONT: (Probe.STOREFRONT, StorefrontStatus.LIVE),
    StepAction.SUSPEND_STOREFRONT: (Probe.STOREFRONT, StorefrontStatus.SUSPENDED),
    StepAction.DEACTIVATE_STOREFRONT: (Probe.STOREFRONT, StorefrontStatus.NONE),
    StepAction.SUSPEND_ON_PLATFORM: (Probe.PLATFORM, PlatformStatus.SUSPENDED),
    StepAction.RESUME_ON_PLATFORM: (Probe.PLATFORM, PlatformStatus.ACTIVE),
    StepAction.CANCEL_ON_PLATFORM: (Probe.PLATFORM, PlatformStatus.CANCELLED),
}


def probe_of(sub: Subscription, step: SagaStep) -> Probe | None:
    """The read that tells whether ``step`` of ``sub`` already acted, or None when no read can
    (an alias hold, an email, a call with nothing to act on).

    Asked after a takeover, for the step the previous owner may have been in: a backend that
    ignores idempotency keys would act twice on a repeat, so what a read shows done is not
    repeated. A storefront activation is told only for an account that had no storefront (an
    activation from Basic): a plan change re-activates a storefront that is live already. A
    platform action is told only once the subscription knows its platform subscription, and an
    order only while it does not (and knows the product it orders).
    """
    if step.action not in _SHOWN:
        return None
    op = sub.operation
    probe = _SHOWN[step.action][0]
    if step.action is StepAction.ACTIVATE_STOREFRONT and (
        op is None or step.compensation or op.previous_plan is not Plan.BASIC
    ):
        return None
    if probe is Probe.PLATFORM and sub.platform_subscription_id is None:
        return None
    if probe is Probe.ORDER and (
        sub.platform_subscription_id is not None or op is None or not op.product_id
    ):
        return None
    return probe


def shows_done(
    step: SagaStep,
    *,
    storefront: StorefrontStatus | None = None,
    licensed: Plan | None = None,
    platform: PlatformStatus | None = None,
) -> bool:
    """Whether what :func:`probe_of`'s read returned shows ``step`` done (not for an order:
    see :func:`order_shown`)."""
    probe, status = _SHOWN[step.action]
    if probe is Probe.LICENSE:
        wanted = Plan.BASIC if step.action is StepAction.REVOKE_LICENSE else step.plan
        return licensed is wanted
    if probe is Probe.PLATFORM:
        return platform is status
    return storefront is status


def order_shown(found: Mapping[str, PlatformStatus], known: Collection[str]) -> str | None:
    """The platform subscription an order in doubt created, or None when the BSS shows none,
    or cannot tell which.

    Args:
        found: the account's platform subscriptions of the plan product, by id, with their
            status (``BSS.platform_subscriptions_of``).
        known: the platform subscription ids the account's other subscriptions already name.

    Returns:
        The one not cancelled that no other subscription of the account names; None when there
        is none (the order did not land) or more than one (an earlier order whose answer was
        lost left one nobody names): then the order is placed again under its key, rather than
        adopt another order's subscription.
    """
    placed = [
        pid for pid, status in found.items()
        if status is not PlatformStatus.CANCELLED and pid not in known
    ]  # fmt: skip
    return placed[0] if len(placed) == 1 else None
