"""The ``Subscription`` aggregate: one reseller-plan subscription and its two statuses.

The platform keeps two statuses per subscription and so do we:

- the **business status** (``SubscriptionStatus``): pending → active ⇄ suspended → cancelled,
  plus failed for an activation that was rolled back. Its transitions are the table in
  ``reseller_plans.domain.lifecycle``;
- the **provisioning (sync) status** (``SyncStatus``) of the operation that brings the
  provisioning side (license, storefront, email) in line with it: the steps of the
  ``Operation`` under way, run by the saga in ``reseller_plans.domain.saga``.

A subscription is a frozen value: every change returns a new one with ``version`` + 1. Its event
history is not carried inside the value (it would grow without bound); transitions return the
events they produce and the store keeps the history (``ResellerPlans.history``).
"""

from __future__ import annotations

import calendar
import datetime as dt

import attrs

from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.enums import DomainEnum
from reseller_plans.domain.plans import Plan

__all__ = [
    "BillingCycle",
    "Channel",
    "Operation",
    "OperationKind",
    "PendingChange",
    "PendingKind",
    "StepAction",
    "Subscription",
    "SubscriptionStatus",
    "SyncStatus",
    "Term",
    "add_months",
]


class SubscriptionStatus(DomainEnum):
    """The business status."""

    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """Cancelled and failed subscriptions never change again."""
        return self in (SubscriptionStatus.CANCELLED, SubscriptionStatus.FAILED)


class SyncStatus(DomainEnum):
    """The provisioning (sync) status of a step or of the whole subscription."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SYNCHRONIZED = "synchronized"
    FAILED = "failed"


class BillingCycle(DomainEnum):
    """How often the subscription is billed (and its term renews)."""

    MONTHLY = "monthly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        """The length of one term in months."""
        return 1 if self is BillingCycle.MONTHLY else 12


class Channel(DomainEnum):
    """Where an upgrade came from."""

    BSS = "bss"
    """The distributor created and executed an order in the BSS."""
    STOREFRONT = "storefront"
    """The reseller bought the plan in the Storefront."""
    PLATFORM = "platform"
    """The platform called our service manager (the order already exists there)."""


def add_months(when: dt.datetime, months: int, day: int | None = None) -> dt.datetime:
    """``when`` plus whole calendar months, clamping the day (Jan 31 + 1 month = Feb 28/29).

    ``day`` asks for that day of the month instead of ``when``'s (clamped the same way).
    """
    month_index = when.month - 1 + months
    year = when.year + month_index // 12
    month = month_index % 12 + 1
    day = min(day or when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


@attrs.frozen
class Term:
    """The current billing term.

    ``anchor_day`` is the day of the month the subscription started on: terms end on it, or on
    the month's last day when the month is shorter (Jan 31, Feb 28, Mar 31, …), so a short month
    does not pull every later term end earlier.
    """

    start: dt.datetime
    end: dt.datetime
    cycle: BillingCycle = BillingCycle.MONTHLY
    auto_renew: bool = True
    anchor_day: int = 0
    """0: the day of ``start``."""

    @classmethod
    def starting(
        cls, start: dt.datetime, cycle: BillingCycle = BillingCycle.MONTHLY, auto_renew: bool = True
    ) -> Term:
        """The first term of a subscription starting at ``start``."""
        return cls(start, add_months(start, cycle.months), cycle, auto_renew, start.day)

    def renewed(self) -> Term:
        """The next term, of the same cycle, starting where this one ends."""
        anchor = self.anchor_day or self.start.day
        end = add_months(self.end, self.cycle.months, anchor)
        return Term(self.end, end, self.cycle, self.auto_renew, anchor)


class PendingKind(DomainEnum):
    PLAN_CHANGE = "plan_change"
    CANCELLATION = "cancellation"


@attrs.frozen
class PendingChange:
    """The one change a subscription may have scheduled."""

    kind: PendingKind
    effective_at: dt.datetime
    plan: Plan = Plan.BASIC
    """The target plan (``Plan.BASIC`` for a cancellation)."""


class OperationKind(DomainEnum):
    """A provisioning operation that the saga runs step by step."""

    ACTIVATION = "activation"
    PLAN_CHANGE = "plan_change"
    SUSPENSION = "suspension"
    RESUMPTION = "resumption"
    CANCELLATION = "cancellation"


class StepAction(DomainEnum):
    """One call to the outside world (or one outbox write) that a saga step makes."""

    PROVISION_LICENSE = "provision_license"
    REVOKE_LICENSE = "revoke_license"
    PLACE_ORDER = "place_order"
    ACTIVATE_STOREFRONT = "activate_storefront"
    DEACTIVATE_STOREFRONT = "deactivate_storefront"
    SUSPEND_STOREFRONT = "suspend_storefront"
    RESUME_STOREFRONT = "resume_storefront"
    SUSPEND_ON_PLATFORM = "suspend_on_platform"
    RESUME_ON_PLATFORM = "resume_on_platform"
    CANCEL_ON_PLATFORM = "cancel_on_platform"
    QUEUE_EMAIL = "queue_email"
    HOLD_ALIAS = "hold_alias"
    """Reserve the Storefront Alias for the account in the Storefront, before its storefront
    goes live under it."""
    RELEASE_ALIAS = "release_alias"
    """Give the Storefront Alias back (the compensation of an activation's hold and order)."""


@attrs.frozen
class Operation:
    """The provisioning operation under way.

    Steps ``[0, done)`` are synchronized; step ``done`` is in progress (or failed, when ``sync``
    is ``FAILED``); the rest have not started. After a permanent failure of a compensable
    operation, ``compensating`` is set and ``undone`` counts the compensations made, which run
    over the done steps in reverse order.
    """

    kind: OperationKind
    plan: Plan
    """The plan the operation brings the subscription to (its current plan when unchanged)."""
    previous_plan: Plan
    """The plan to restore on compensation (``Plan.BASIC`` for an activation)."""
    steps: tuple[StepAction, ...]
    done: int = 0
    compensating: bool = False
    undone: int = 0
    sync: SyncStatus = SyncStatus.IN_PROGRESS
    reason: str | None = None
    detail: str = ""
    """Free text carried to messages (a suspension's reason)."""
    id: str = ""
    """Stable id of this operation (subscription id and version at start): the root of the
    idempotency keys of its steps."""
    product_id: str = ""
    """The catalog product ordered by an activation."""

    def step_status(self, index: int) -> SyncStatus:
        if index < self.done:
            return SyncStatus.SYNCHRONIZED
        if index == self.done:
            return self.sync
        return SyncStatus.NOT_STARTED


# Not slotted: a transition copies the attribute dict in one C call (lifecycle._evolve), three
# times cheaper than setting thirteen slots one by one, for about 100 bytes more per value.
@attrs.frozen(slots=False)
class Subscription:
    """A reseller-plan subscription (Free or Standard) of one reseller account.

    Attributes:
        id: our id (the service manager's external id).
        account_id: the reseller account.
        distributor_id: the distributor the account belongs to.
        plan: the plan it holds (the plan being activated while pending).
        alias: the reseller's Storefront Alias.
        status: the business status.
        term: the current billing term.
        channel: where the upgrade came from.
        pending_change: the one scheduled change, if any.
        operation: the provisioning operation under way, if any.
        platform_subscription_id: the platform's id of the subscription, once known.
        failure_reason: why the last operation failed, if it did.
        version: increases by one with every change.
    """

    id: str
    account_id: str
    distributor_id: str
    plan: Plan
    alias: StorefrontAlias | None
    status: SubscriptionStatus
    term: Term
    channel: Channel = Channel.BSS
    pending_change: PendingChange | None = None
    operation: Operation | None = None
    platform_subscription_id: str | None = None
    failure_reason: str | None = None
    version: int = 1

    @property
    def is_live(self) -> bool:
        """Pending, active or suspended: the subscription holds (or is getting) its plan."""
        return not self.status.is_final

    @property
    def effective_plan(self) -> Plan:
        """The plan the reseller is on because of this subscription."""
        if self.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED):
            return self.plan
        return Plan.BASIC

    @property
    def sync_status(self) -> SyncStatus:
        """The provisioning status of the subscription as a whole."""
        if self.operation is None:
            return SyncStatus.SYNCHRONIZED
        return self.operation.sync

    @property
    def provisioning_failed(self) -> bool:
        """True while an operation waits for ``retry`` after a failure."""
        return self.operation is not None and self.operation.sync is SyncStatus.FAILED

    def provisioning(self) -> dict[StepAction, SyncStatus]:
        """The sync status of each step of the operation under way (empty when none)."""
        if self.operation is None:
            return {}
        op = self.operation
        return {step: op.step_status(i) for i, step in enumerate(op.steps)}
