"""Which webhook deliveries may go now, keeping each subscription's order.

The events of one subscription go to one endpoint in the order of the feed, one at a time:
:func:`sendable` picks, from an endpoint's deliveries, those that may be sent now. A dead letter
holds back the later events of its subscription for that endpoint (``Ordering.HOLD_BACK``, the
default) until it is redriven and delivered, or skipped; with ``Ordering.SKIP_AHEAD`` they go on
without it, and a redriven one then arrives out of order. :func:`next_due` says when to look
again. The records and their rules are :mod:`reseller_plans.domain.deliveries`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol, TypeVar

from reseller_plans.domain.deliveries import DeliverySettings, DeliveryState, Ordering
from reseller_plans.domain.schedule import ALWAYS

__all__ = ["Deliverable", "next_due", "sendable"]


class Deliverable(Protocol):
    """What :func:`sendable` reads of a delivery (a :class:`DeliveryRecord` has it all)."""

    @property
    def endpoint_id(self) -> str:
        """The endpoint it goes to."""
        ...

    @property
    def event_id(self) -> str:
        """The event's stable id."""
        ...

    @property
    def subscription_id(self) -> str:
        """The subscription whose order it keeps."""
        ...

    @property
    def sequence(self) -> int:
        """Its position in the feed."""
        ...

    @property
    def state(self) -> DeliveryState:
        """Pending, delivered, dead or skipped."""
        ...

    @property
    def next_attempt_at(self) -> dt.datetime | None:
        """When its next attempt is due (None: at once)."""
        ...


D = TypeVar("D", bound=Deliverable)


def _heads(deliveries: Iterable[D], settings: DeliverySettings) -> list[D]:
    """Per endpoint and subscription, the delivery that goes next, if any may."""
    lines: dict[tuple[str, str], list[D]] = {}
    for delivery in deliveries:
        lines.setdefault((delivery.endpoint_id, delivery.subscription_id), []).append(delivery)
    heads: list[D] = []
    hold_back = settings.ordering is Ordering.HOLD_BACK
    for line in lines.values():
        line.sort(key=_feed_order)
        for delivery in line:
            if delivery.state in (DeliveryState.DELIVERED, DeliveryState.SKIPPED):
                continue
            if delivery.state is DeliveryState.DEAD:
                if hold_back:
                    break
                continue
            heads.append(delivery)
            break
    heads.sort(key=_feed_order)
    return heads


def _feed_order(delivery: Deliverable) -> tuple[int, str]:
    return (delivery.sequence, delivery.event_id)


def sendable(deliveries: Iterable[D], now: dt.datetime, settings: DeliverySettings) -> list[D]:
    """The deliveries that may be sent at ``now``, keeping each subscription's order.

    Per endpoint and subscription, in the order of ``sequence``: delivered and skipped
    deliveries are passed over; the first pending one is the subscription's next, sent when its
    attempt is due, and the ones after it wait for it (one at a time, in order). A dead letter
    holds back the ones after it (``Ordering.HOLD_BACK``) or is passed over
    (``Ordering.SKIP_AHEAD``).

    Args:
        deliveries: deliveries of one or more endpoints, in any order; delivered and skipped
            ones may be left out.
        now: the current instant.
        settings: the ordering rule.

    Returns:
        The deliveries to send now, at most one per endpoint and subscription, in feed order.
    """
    return [
        head
        for head in _heads(deliveries, settings)
        if head.next_attempt_at is None or head.next_attempt_at <= now
    ]


def next_due(deliveries: Iterable[Deliverable], settings: DeliverySettings) -> dt.datetime | None:
    """When :func:`sendable` will next have something to send: the feed's next wake-up.

    Args:
        deliveries: as for :func:`sendable`.
        settings: the ordering rule.

    Returns:
        The earliest next attempt of a delivery that may go next (``ALWAYS``, the earliest
        instant, when one is due at once), or None when nothing may go until an operator acts
        or a new event comes.
    """
    times = [head.next_attempt_at or ALWAYS for head in _heads(deliveries, settings)]
    return min(times, default=None)
