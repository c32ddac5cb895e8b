"""Which subscriptions a query asks for: the filters of ``ResellerPlans.subscriptions``.

A value, so every store answers the same question: the SQL stores translate it into their
``WHERE`` clause (over indexed columns), the in-memory ones ask :meth:`SubscriptionQuery.matches`.
"""

from __future__ import annotations

import datetime as dt

import attrs

from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus, SyncStatus

__all__ = ["SubscriptionQuery"]


@attrs.frozen
class SubscriptionQuery:
    """The subscriptions that match every filter given (None, or empty: any).

    Attributes:
        distributor_id: of this distributor's resellers.
        account_id: of this account.
        statuses: in one of these business statuses.
        sync: in this sync status (``SyncStatus.FAILED``: waiting for ``retry``;
            ``IN_PROGRESS``: an operation under way; ``SYNCHRONIZED``: none).
        plan: holding this plan (the plan being activated, while pending).
        changed_since: with an event at or after this instant (the latest event of its
            history: a step, a change, a message refused or resent).
    """

    distributor_id: str | None = None
    account_id: str | None = None
    statuses: frozenset[SubscriptionStatus] = frozenset()
    sync: SyncStatus | None = None
    plan: Plan | None = None
    changed_since: dt.datetime | None = None

    def matches(self, sub: Subscription, changed_at: dt.datetime | None) -> bool:
        """Whether ``sub``, whose latest event is at ``changed_at``, is one of them."""
        return (
            (self.distributor_id is None or sub.distributor_id == self.distributor_id)
            and (self.account_id is None or sub.account_id == self.account_id)
            and (not self.statuses or sub.status in self.statuses)
            and (self.sync is None or sub.sync_status is self.sync)
            and (self.plan is None or sub.plan is self.plan)
            and (
                self.changed_since is None
                or (changed_at is not None and changed_at >= self.changed_since)
            )
        )
