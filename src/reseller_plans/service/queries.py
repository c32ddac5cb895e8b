"""The façade's queries: what the store knows, read without driving anything.

``ResellerPlans`` delegates its queries to these; each parses its ids
(``reseller_plans.service.inputs``) and reads one unit of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.events import Event
from reseller_plans.domain.feed import EventPage
from reseller_plans.domain.filters import SubscriptionQuery
from reseller_plans.domain.messages import MessageStatus
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus, SyncStatus
from reseller_plans.ports import OutboxEntry, Store
from reseller_plans.service import inputs
from reseller_plans.service.access import KeyScope
from reseller_plans.service.driver import load

__all__ = ["Queries"]

_PAGE = 100


class Queries:
    """The read side of ``ResellerPlans``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, subscription_id: str) -> Subscription:
        """The subscription.

        Raises:
            NotFound: no such subscription.
        """
        subscription_id = inputs.identifier(subscription_id, "subscription_id")
        with self.store.unit_of_work() as uow:
            return load(uow, subscription_id)

    def plan_of(self, account_id: str) -> Plan:
        """The plan the account is on: its live subscription's, or ``Plan.BASIC``."""
        account_id = inputs.identifier(account_id, "account_id")
        with self.store.unit_of_work() as uow:
            live = uow.live_subscription_of(account_id)
        return Plan.BASIC if live is None else live.effective_plan

    def subscription_of(self, account_id: str) -> Subscription | None:
        """The account's live subscription, if any."""
        account_id = inputs.identifier(account_id, "account_id")
        with self.store.unit_of_work() as uow:
            return uow.live_subscription_of(account_id)

    def history(self, subscription_id: str) -> list[Event]:
        """Every event of the subscription, in order.

        Raises:
            NotFound: no such subscription.
        """
        subscription_id = inputs.identifier(subscription_id, "subscription_id")
        with self.store.unit_of_work() as uow:
            load(uow, subscription_id)
            return uow.history(subscription_id)

    def find_by_key(self, idempotency_key: str, *, actor: Actor) -> Subscription | None:
        """The subscription a command sent with this key (by this actor) produced, if any.

        Bulk runs use it to tell the rows already done from the rest.
        """
        actor = inputs.parse_actor(actor)
        idempotency_key = inputs.identifier(idempotency_key, "idempotency_key")
        with self.store.unit_of_work() as uow:
            record = uow.get_idempotency(KeyScope(actor).value, idempotency_key)
            return None if record is None else uow.get(record.subscription_id)

    def outbox(self, subscription_id: str) -> list[OutboxEntry]:
        """The subscription's messages, sent or waiting."""
        subscription_id = inputs.identifier(subscription_id, "subscription_id")
        with self.store.unit_of_work() as uow:
            return uow.outbox_of(subscription_id)

    def subscriptions(
        self,
        *,
        distributor_id: str | None = None,
        account_id: str | None = None,
        status: SubscriptionStatus | str | Iterable[SubscriptionStatus | str] | None = None,
        sync: SyncStatus | str | None = None,
        plan: Plan | str | None = None,
        changed_since: dt.datetime | None = None,
        page_size: int = _PAGE,
    ) -> Iterator[Subscription]:
        """The subscriptions that match every filter given, in the order they were created,
        read lazily one page (one unit of work) at a time.

        Raises:
            InvalidInput: an unknown status, sync status or plan, an empty id, a naive
                ``changed_since``, or a page size below 1 (raised at once).
        """
        query = SubscriptionQuery(
            distributor_id=inputs.optional_identifier(distributor_id, "distributor_id"),
            account_id=inputs.optional_identifier(account_id, "account_id"),
            statuses=_statuses(status),
            sync=None if sync is None else inputs.choice(SyncStatus, sync, "sync"),
            plan=None if plan is None else inputs.parse_plan(plan),
            changed_since=None
            if changed_since is None
            else inputs.instant(changed_since, "changed_since"),
        )
        size = _page_size(page_size)

        def pages() -> Iterator[Subscription]:
            after = None
            while True:
                with self.store.unit_of_work() as uow:
                    page = uow.subscriptions_page(query, after=after, limit=size)
                yield from (sub for _, sub in page)
                if len(page) < size:
                    return
                after = page[-1][0]

        return pages()

    def events(self, *, after: str | None = None, limit: int = _PAGE) -> EventPage:
        """The feed's events after ``after`` (from the start, for None), at most ``limit``.

        Raises:
            InvalidInput: a cursor that is not text or names no position of this store's feed,
                a limit below 1, or a store that keeps no feed.
        """
        if after is not None and not isinstance(after, str):
            raise InvalidInput(f"after must be a cursor of the feed (text), not {after!r}")
        size = _page_size(limit, "limit")
        with self.store.unit_of_work() as uow:
            found = uow.events_after(after, size)
        return EventPage(tuple(found), found[-1].position if found else after)

    def messages(
        self,
        *,
        status: MessageStatus | str | None = None,
        subscription_id: str | None = None,
        distributor_id: str | None = None,
        page_size: int = _PAGE,
    ) -> Iterator[OutboxEntry]:
        """The outbox's messages in that status (every one, for None), oldest first, read
        lazily one page (one unit of work) at a time.

        A message that changes status while the iteration goes on is seen at most once: the
        pages follow ``(created_at, id)``, which never changes.

        Raises:
            InvalidInput: an unknown status, an empty id, or a page size below 1 (raised at
                once, not at the first ``next()``).
        """
        wanted = None if status is None else inputs.choice(MessageStatus, status, "status")
        sid = inputs.optional_identifier(subscription_id, "subscription_id")
        did = inputs.optional_identifier(distributor_id, "distributor_id")
        return self._pages(wanted, sid, did, _page_size(page_size))

    def _pages(
        self, status: MessageStatus | None, sid: str | None, did: str | None, size: int
    ) -> Iterator[OutboxEntry]:
        after = None
        while True:
            with self.store.unit_of_work() as uow:
                page = uow.outbox_page(
                    status=status, subscription_id=sid, distributor_id=did, after=after,
                    limit=size,
                )  # fmt: skip
            yield from page
            if len(page) < size:
                return
            after = (page[-1].created_at, page[-1].id)


_MAX_PAGE = 10_000


def _page_size(value: object, what: str = "page_size") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_PAGE:
        raise InvalidInput(f"{what} must be an integer from 1 to {_MAX_PAGE:,}, not {value!r}")
    return value


def _statuses(value: object) -> frozenset[SubscriptionStatus]:
    if value is None:
        return frozenset()
    if isinstance(value, SubscriptionStatus | str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise InvalidInput(
            f"status must be a SubscriptionStatus, its name, or several, not {value!r}"
        )
    found = frozenset(inputs.choice(SubscriptionStatus, v, "status") for v in value)
    if not found:
        raise InvalidInput("status names no status: give one or more, or None for any")
    return found
