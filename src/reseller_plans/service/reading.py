"""The façade's read methods: what the store knows, read without driving anything.

``ResellerPlans`` inherits them; each delegates to ``service.queries.Queries``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.events import Event
from reseller_plans.domain.feed import EventPage
from reseller_plans.domain.messages import MessageStatus
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus, SyncStatus
from reseller_plans.ports import OutboxEntry
from reseller_plans.service.wiring import Parts

__all__ = ["ReadMethods"]


class ReadMethods:
    """The queries of ``ResellerPlans``."""

    _parts: Parts

    def get(self, subscription_id: str) -> Subscription:
        """The subscription.

        Raises:
            NotFound: no such subscription.
        """
        return self._parts.queries.get(subscription_id)

    def plan_of(self, account_id: str) -> Plan:
        """The plan the account is on: its live subscription's, or ``Plan.BASIC``."""
        return self._parts.queries.plan_of(account_id)

    def subscription_of(self, account_id: str) -> Subscription | None:
        """The account's live subscription, if any."""
        return self._parts.queries.subscription_of(account_id)

    def history(self, subscription_id: str) -> list[Event]:
        """Every event of the subscription, in order.

        Raises:
            NotFound: no such subscription.
        """
        return self._parts.queries.history(subscription_id)

    def find_by_key(self, idempotency_key: str, *, actor: Actor) -> Subscription | None:
        """The subscription a command sent with this key (by this actor) produced, if any."""
        return self._parts.queries.find_by_key(idempotency_key, actor=actor)

    def outbox(self, subscription_id: str) -> list[OutboxEntry]:
        """The subscription's messages, sent or waiting."""
        return self._parts.queries.outbox(subscription_id)

    def subscriptions(
        self,
        *,
        distributor_id: str | None = None,
        account_id: str | None = None,
        status: SubscriptionStatus | str | Iterable[SubscriptionStatus | str] | None = None,
        sync: SyncStatus | str | None = None,
        plan: Plan | str | None = None,
        changed_since: dt.datetime | None = None,
        page_size: int = 100,
    ) -> Iterator[Subscription]:
        """The subscriptions that match every filter given (``sync="failed"``: waiting for
        ``retry``; ``changed_since``: with an event at or after it), in the order they were
        created, read lazily page by page. Bad input raises ``InvalidInput`` at once."""
        return self._parts.queries.subscriptions(
            distributor_id=distributor_id, account_id=account_id, status=status, sync=sync,
            plan=plan, changed_since=changed_since, page_size=page_size,
        )  # fmt: skip

    def events(self, *, after: str | None = None, limit: int = 100) -> EventPage:
        """The store's events in the feed's order, after the cursor ``after`` (from the start,
        for None), at most ``limit``: keep ``page.cursor`` and pass it back to read on. Each
        event has a stable id and a versioned payload (``FeedEvent.payload()``); an event
        appears only once its unit of work has committed, and never behind a cursor given.

        Raises:
            InvalidInput: a cursor of no position of this store's feed, a limit below 1, or a
                store that keeps no feed (``PackedStore``).
        """
        return self._parts.queries.events(after=after, limit=limit)

    def messages(
        self,
        *,
        status: MessageStatus | str | None = None,
        subscription_id: str | None = None,
        distributor_id: str | None = None,
        page_size: int = 100,
    ) -> Iterator[OutboxEntry]:
        """The outbox's messages (``status="failed"``: refused for good; ``"waiting"``: not
        sent yet), of one subscription or of one distributor's if asked, oldest first, read
        lazily page by page. Raises ``InvalidInput`` at once for an unknown status, an empty
        id or a page size below 1."""
        return self._parts.queries.messages(
            status=status, subscription_id=subscription_id, distributor_id=distributor_id,
            page_size=page_size,
        )  # fmt: skip
