"""The feed: every event of the store, in one order that never changes, for hosts that react
to what happens (a CRM, a data warehouse, webhooks).

Each event of the feed has a stable id (the same on every read, so a receiver can tell a
repeat) and a position, an opaque cursor: ``ResellerPlans.events(after=cursor)`` gives the
events after it. Its payload is versioned: a new field never breaks a receiver that ignores the
fields it does not know.
"""

from __future__ import annotations

import re

import attrs

from reseller_plans.domain.audit import Audit
from reseller_plans.domain.events import EVENT_TYPES, Event, event_to_dict

__all__ = ["EVENT_TYPE_NAMES", "PAYLOAD_VERSION", "EventPage", "FeedEvent", "event_type"]

PAYLOAD_VERSION = 1
"""The version of :meth:`FeedEvent.payload`. Adding a field keeps it; it goes up only when a
field changes meaning or goes away."""


def event_type(event: Event) -> str:
    """The event's type as the feed and webhooks name it: ``Activated`` is
    ``"subscription.activated"``, ``MessageFailed`` is ``"subscription.message_failed"``."""
    return _type_of(event.name)


def _type_of(class_name: str) -> str:
    words = re.findall(r"[A-Z][a-z0-9]*", class_name)
    return "subscription." + "_".join(w.lower() for w in words)


EVENT_TYPE_NAMES: frozenset[str] = frozenset(_type_of(name) for name in EVENT_TYPES)
"""Every event type the feed, the callbacks and the webhooks name (``"subscription.activated"``
and so on)."""


@attrs.frozen
class FeedEvent:
    """One event of the feed.

    Attributes:
        id: its stable id (``evt_<n>``).
        position: where it is in the feed: pass it as ``after=`` to read on from it.
        event: the domain event.
    """

    id: str
    position: str
    event: Event

    @property
    def type(self) -> str:
        """``"subscription.activated"`` and so on (:func:`event_type`)."""
        return event_type(self.event)

    def payload(self) -> dict[str, object]:
        """The versioned JSON-ready payload: ``id``, ``type``, ``version``, ``occurred_at``,
        ``subscription_id``, ``data`` (the event's own fields) and ``audit`` (who caused it:
        ``actor``, ``correlation_id``, ``idempotency_key``, ``reason``; ``actor`` is
        ``"unrecorded"`` for an event older than the audit trail)."""
        data = event_to_dict(self.event)
        for name in ("type", "subscription_id", "at", "audit"):
            data.pop(name, None)
        audit = self.event.audit or Audit.unrecorded()
        return {
            "id": self.id,
            "type": self.type,
            "version": PAYLOAD_VERSION,
            "occurred_at": self.event.at.isoformat(),
            "subscription_id": self.event.subscription_id,
            "data": data,
            "audit": audit.to_dict(),
        }


@attrs.frozen
class EventPage:
    """A page of the feed: its events, and the cursor to read on from (the last event's
    position, or the one given when the page is empty)."""

    events: tuple[FeedEvent, ...]
    cursor: str | None
