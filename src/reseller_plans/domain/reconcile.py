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

from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import StepAction, Subscription
from reseller_plans.domain.subscription import SubscriptionStatus as Status

__all__ = ["REPAIRS", "StorefrontStatus", "repairs"]


class StorefrontStatus(enum.Enum):
    """What the Storefront shows of a reseller's own storefront."""

    LIVE = "live"
    SUSPENDED = "suspended"
    NONE = "none"
    """None at all, or shut down."""


REPAIRS = frozenset(
    (StepAction.DEACTIVATE_STOREFRONT, StepAction.SUSPEND_STOREFRONT, StepAction.REVOKE_LICENSE)
)
"""The only calls a reconciliation makes: each takes something away, none provisions."""


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
    if live is not None and (live.operation is not None or live.status is Status.PENDING):
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
