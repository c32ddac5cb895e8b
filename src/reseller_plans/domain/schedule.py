"""What is due, and when: the scheduler's decisions, shared by the service and every store.

A subscription has work due when an operation is in progress (due at once), when a scheduled
change's time has come, or when its term has ended. Stores index :func:`due_at` so that the
service's scheduler asks them only for what :func:`is_due`; the service then asks
:func:`next_work` what to do about each subscription it is given.
"""

from __future__ import annotations

import datetime as dt
import enum

from reseller_plans.domain.subscription import (
    PendingChange,
    PendingKind,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
)

__all__ = ["ALWAYS", "DueWork", "applicable_change", "due_at", "is_due", "next_work"]

ALWAYS = dt.datetime.min.replace(tzinfo=dt.UTC)
"""The due time of a subscription whose operation is in progress: due whenever asked."""


class DueWork(enum.Enum):
    """What the scheduler does next for a due subscription (see :func:`next_work`)."""

    DRIVE = "drive"
    """Run the operation in progress."""
    APPLY_CANCELLATION = "apply_cancellation"
    """Start the cancellation that was scheduled for now."""
    APPLY_PLAN_CHANGE = "apply_plan_change"
    """Start the plan change that was scheduled for now."""
    RENEW = "renew"
    """The term ended and renews by itself."""
    EXPIRE = "expire"
    """The term ended without renewal: cancel, as an expiry."""


def applicable_change(sub: Subscription) -> PendingChange | None:
    """The scheduled change that may apply in the subscription's state, if any.

    A scheduled plan change waits while the subscription is suspended (the term still renews
    or ends); it applies when the subscription is resumed. A scheduled cancellation applies
    whatever the state.
    """
    change = sub.pending_change
    if change is None:
        return None
    if change.kind is PendingKind.PLAN_CHANGE and sub.status is not SubscriptionStatus.ACTIVE:
        return None
    return change


def due_at(sub: Subscription) -> dt.datetime | None:
    """When the scheduler next has work for the subscription (every store indexes this).

    An operation in progress is due at once; one that failed waits for ``retry``; otherwise
    the earlier of the scheduled change and the term end of an active or suspended one.
    """
    op = sub.operation
    if op is not None:
        return ALWAYS if op.sync is SyncStatus.IN_PROGRESS else None
    if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED):
        return None
    change = applicable_change(sub)
    if change is not None and change.effective_at < sub.term.end:
        return change.effective_at
    return sub.term.end


def is_due(sub: Subscription, now: dt.datetime) -> bool:
    """Whether the scheduler has work for the subscription at ``now``."""
    when = due_at(sub)
    return when is not None and when <= now


def next_work(sub: Subscription, now: dt.datetime) -> DueWork | None:
    """What to do next for the subscription at ``now``, or None when nothing is due."""
    if not is_due(sub, now):
        return None
    if sub.operation is not None:
        return DueWork.DRIVE
    change = applicable_change(sub)
    if change is not None and change.effective_at <= now:
        if change.kind is PendingKind.CANCELLATION:
            return DueWork.APPLY_CANCELLATION
        return DueWork.APPLY_PLAN_CHANGE
    return DueWork.RENEW if sub.term.auto_renew else DueWork.EXPIRE
