"""The webhook deliveries as the service sees them: the notifier ``run_due`` runs, and the
operator's list, redrive and skip.

The service does not import ``reseller_plans.webhooks`` (which needs the ``webhooks`` extra):
it knows the notifier by the :class:`Notifier` protocol, which ``WebhookNotifier`` is, and the
deliveries by the store's ``DeliveryLog`` port and the domain's rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Protocol, cast

from reseller_plans.delivery_log import DeliveryLog
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.audit import actor_text
from reseller_plans.domain.deliveries import DeliveryRecord, DeliveryState, redrive, skip
from reseller_plans.domain.errors import ConcurrentUpdate, InvalidInput, NotFound
from reseller_plans.ports import Clock, Store, UnitOfWork
from reseller_plans.service import inputs
from reseller_plans.service.access import authorize_subscription

__all__ = ["Deliveries", "Notifier", "NotifierTally", "delivery_log"]


class NotifierTally(Protocol):
    """What a notifier's pass reports (``WebhookTally``)."""

    @property
    def delivered(self) -> int: ...

    @property
    def retrying(self) -> int: ...

    @property
    def dead(self) -> int: ...


class Notifier(Protocol):
    """What ``run_due`` calls to deliver the feed (``WebhookNotifier``)."""

    def deliver_due(self, store: Store, *, clock: Clock | None = None) -> NotifierTally:
        """Ingest the feed's new events and send what may go now."""
        ...

    def close(self) -> None:
        """Release what it holds."""
        ...


def delivery_log(uow: UnitOfWork) -> DeliveryLog:
    """The unit of work as the delivery log it also is.

    Raises:
        InvalidInput: the store keeps no webhook deliveries (the simulator's ``PackedStore``).
    """
    if not callable(getattr(uow, "deliveries_page", None)):
        raise InvalidInput(
            f"this store's unit of work ({type(uow).__name__}) keeps no webhook deliveries: "
            "use SQLiteStore, PostgresStore or InMemoryStore for webhooks"
        )
    return cast(DeliveryLog, uow)


def _state(value: DeliveryState | str | None) -> DeliveryState | None:
    return None if value is None else inputs.choice(DeliveryState, value, "state")


class Deliveries:
    """The operator's side of the webhook deliveries."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def list(
        self,
        *,
        state: DeliveryState | str | None,
        endpoint_id: str | None,
        subscription_id: str | None,
        page_size: int,
    ) -> Iterator[DeliveryRecord]:
        """The deliveries that match, by endpoint and feed order, read lazily page by page.

        Raises:
            InvalidInput: an unknown state, an empty id or a page size below 1 (at once).
        """
        wanted = _state(state)
        endpoint_id = inputs.optional_identifier(endpoint_id, "endpoint_id")
        subscription_id = inputs.optional_identifier(subscription_id, "subscription_id")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise InvalidInput(f"page_size must be a whole number, 1 or more, not {page_size!r}")

        def pages() -> Iterator[DeliveryRecord]:
            after: tuple[str, int, str] | None = None
            while True:
                with self.store.unit_of_work() as uow:
                    page = delivery_log(uow).deliveries_page(
                        state=wanted, endpoint_id=endpoint_id, subscription_id=subscription_id,
                        after=after, limit=page_size,
                    )  # fmt: skip
                yield from page
                if len(page) < page_size:
                    return
                last = page[-1]
                after = (last.endpoint_id, last.sequence, last.event_id)

        return pages()

    def redrive(self, endpoint_id: str, event_id: str, *, actor: Actor) -> DeliveryRecord:
        """Send a dead (or skipped) delivery again at the next ``run_due``, on a fresh budget,
        under the same id; who asked and when are recorded on it.

        Raises:
            NotFound: no such delivery (or its subscription is gone).
            Forbidden: a reseller, or another distributor.
            InvalidInput: it is pending or delivered.
            ConcurrentUpdate: it changed meanwhile (retryable: look again).
        """
        return self._change(endpoint_id, event_id, actor, redrive)

    def skip(self, endpoint_id: str, event_id: str, *, actor: Actor) -> DeliveryRecord:
        """Give a dead (or pending) delivery up: the events after it go on.

        Raises:
            NotFound: no such delivery (or its subscription is gone).
            Forbidden: a reseller, or another distributor.
            InvalidInput: it is delivered or skipped already.
            ConcurrentUpdate: it changed meanwhile, or a notifier is sending it now.
        """
        return self._change(endpoint_id, event_id, actor, skip)

    def _change(self, endpoint_id: str, event_id: str, actor: Actor, rule: _Rule) -> DeliveryRecord:
        endpoint_id = inputs.identifier(endpoint_id, "endpoint_id")
        event_id = inputs.identifier(event_id, "event_id")
        actor = inputs.parse_actor(actor)
        now = self.clock.now()
        with self.store.unit_of_work() as uow:
            log = delivery_log(uow)
            stored = log.get_delivery(endpoint_id, event_id)
            if stored is None:
                raise NotFound(f"no delivery of event {event_id} to endpoint {endpoint_id}")
            sub = uow.get(stored.record.subscription_id)
            if sub is None:
                raise NotFound(f"{stored.record.describe()} is of no stored subscription")
            authorize_subscription(actor, sub, distributor_only=True)
            changed = rule(stored.record, by=actor_text(actor), at=now)
            if not log.change_delivery(changed, was=stored.record.state, now=now):
                raise ConcurrentUpdate(
                    f"{stored.record.describe()} is being sent, or changed meanwhile: look "
                    "again in a moment"
                )
        return changed


class _Rule(Protocol):
    def __call__(self, record: DeliveryRecord, *, by: str, at: dt.datetime) -> DeliveryRecord: ...
