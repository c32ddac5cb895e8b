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
from reseller_plans.domain.saga import SagaStep
from reseller_plans.domain.subscription import StepAction, Subscription
from reseller_plans.domain.subscription import SubscriptionStatus as Status

__all__ = ["REPAIRS", "Probe", "StorefrontStatus", "must_wait", "probe_of", "repairs", "shows_done"]


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


_SHOWN: dict[StepAction, tuple[Probe, StorefrontStatus | None]] = {
    StepAction.PROVISION_LICENSE: (Probe.LICENSE, None),
    StepAction.REVOKE_LICENSE: (Probe.LICENSE, None),
    StepAction.ACTIVATE_STOREFRONT: (Probe.STOREFRONT, StorefrontStatus.LIVE),
    StepAction.RESUME_STOREFRONT: (Probe.STOREFRONT, StorefrontStatus.LIVE),
    StepAction.SUSPEND_STOREFRONT: (Probe.STOREFRONT, StorefrontStatus.SUSPENDED),
    StepAction.DEACTIVATE_STOREFRONT: (Probe.STOREFRONT, StorefrontStatus.NONE),
}


def probe_of(sub: Subscription, step: SagaStep) -> Probe | None:
    """The read that tells whether ``step`` of ``sub`` already acted, or None when no read can
    (an order, a platform action, an alias hold, an email).

    Asked after a takeover, for the step the previous owner may have been in: a backend that
    ignores idempotency keys would act twice on a repeat, so what a read shows done is not
    repeated. A storefront activation is told only for an account that had no storefront (an
    activation from Basic): a plan change re-activates a storefront that is live already.
    """
    if step.action not in _SHOWN:
        return None
    op = sub.operation
    if step.action is StepAction.ACTIVATE_STOREFRONT and (
        op is None or step.compensation or op.previous_plan is not Plan.BASIC
    ):
        return None
    return _SHOWN[step.action][0]


def shows_done(
    step: SagaStep, *, storefront: StorefrontStatus | None = None, licensed: Plan | None = None
) -> bool:
    """Whether what :func:`probe_of`'s read returned shows ``step`` done."""
    probe, status = _SHOWN[step.action]
    if probe is Probe.LICENSE:
        wanted = Plan.BASIC if step.action is StepAction.REVOKE_LICENSE else step.plan
        return licensed is wanted
    return storefront is status
