"""The feed: every event of the store, in one order that never changes, for hosts that react
to what happens (a CRM, a data warehouse, webhooks).

Each event of the feed has a stable id (the same on every read, so a receiver can tell a
repeat) and a position, an opaque cursor: ``ResellerPlans.events(after=cursor)`` gives the
events after it. Its payload is versioned: a new field never breaks a receiver that ignores the
fields it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import attrs

from reseller_plans.domain.audit import Audit
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.events import EVENT_TYPES, Event, event_to_dict

__all__ = [
    "EVENT_TYPE_NAMES",
    "EVENT_TYPE_PATTERN",
    "PAYLOAD_VERSION",
    "EventPage",
    "FeedEvent",
    "check_event_type",
    "event_type",
    "event_type_set",
]

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

EVENT_TYPE_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
"""What an event type looks like: lowercase words joined by dots (``subscription.activated``)."""

_MAX_EVENT_TYPE: Final = 128


def check_event_type(value: object) -> str:
    """``value`` checked to be an event type name.

    Args:
        value: the name, such as ``"subscription.activated"``.

    Returns:
        The name, unchanged.

    Raises:
        InvalidInput: it is not text, or not lowercase words joined by dots.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"an event type is text, not {type(value).__name__} {value!r}")
    if len(value) > _MAX_EVENT_TYPE or EVENT_TYPE_PATTERN.fullmatch(value) is None:
        raise InvalidInput(
            f"an event type is lowercase words joined by dots, such as "
            f"'subscription.activated' (at most {_MAX_EVENT_TYPE} characters), not {value!r}"
        )
    return value


def event_type_set(value: Iterable[object], *, known_only: bool) -> frozenset[str]:
    """``event_types``, the event types a filter names (a list, a set, any iterable of them),
    checked and made a set.

    Args:
        value: the names, such as ``["subscription.activated"]``; it may be empty.
        known_only: True to accept only the types of the events there are
            (:data:`EVENT_TYPE_NAMES`); False to accept any name of the right form
            (:func:`check_event_type`), such as one a later version may add.

    Returns:
        The names, as a set.

    Raises:
        InvalidInput: one bare string (one type is a set of one), a value that holds no names,
            or a name that is not an event type (not a known one, with ``known_only``).
    """
    if isinstance(value, str):
        raise InvalidInput(
            f"event_types is a set of event type names, such as {{{value!r}}}, not one text"
        )
    try:
        names = list(value)
    except TypeError:
        raise InvalidInput(
            f"event_types is a set of event type names, not {type(value).__name__} {value!r}"
        ) from None
    if not known_only:
        return frozenset(check_event_type(name) for name in names)
    known = frozenset(n for n in names if isinstance(n, str) and n in EVENT_TYPE_NAMES)
    unknown = sorted({repr(n) for n in names if not (isinstance(n, str) and n in known)})
    if unknown:
        raise InvalidInput(
            f"no event has the type {', '.join(unknown)}: the types are "
            f"{', '.join(sorted(EVENT_TYPE_NAMES))}"
        )
    return known


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
