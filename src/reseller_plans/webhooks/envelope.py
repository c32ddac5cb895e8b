"""The body of a delivery: a versioned JSON envelope around one event, rendered to bytes once.

>>> import datetime as dt
>>> at = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
>>> data = {"subscription_id": "sub_1", "plan": "standard"}
>>> render_envelope("evt_0001", "subscription.activated", at, data)
b'{"data":{"plan":"standard","subscription_id":"sub_1"},"id":"evt_0001","timestamp":"2026-01-05T09:30:00Z","type":"subscription.activated","version":1}'

The same event renders to the same bytes every time (members sorted, no spaces, UTF-8), so the
feed can render it once, keep the bytes, and send exactly those on every attempt. ``version``
changes only when a member changes meaning or goes away; members are added without a new
version, so a receiver must ignore the members it does not know.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Final, cast

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.feed import FeedEvent
from reseller_plans.webhooks.endpoints import check_event_type
from reseller_plans.webhooks.signing import check_message_id

__all__ = ["ENVELOPE_VERSION", "envelope_of", "render_envelope"]

ENVELOPE_VERSION: Final = 1
"""The envelope's version: it changes only when a member changes meaning or goes away."""


def _instant(at: dt.datetime, what: str) -> str:
    if at.utcoffset() is None:
        raise InvalidInput(f"{what} must be a timezone-aware datetime, not {at!r}")
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _json_value(value: object) -> object:
    # json.dumps calls this for what it cannot write itself.
    if isinstance(value, dt.datetime):
        return _instant(value, "a datetime in data")
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON")


def render_envelope(
    event_id: str,
    event_type: str,
    occurred_at: dt.datetime,
    data: Mapping[str, object],
) -> bytes:
    """One event as the body of its deliveries, the same bytes every time.

    Args:
        event_id: the event's stable id (also the ``webhook-id`` of every delivery).
        event_type: its type, lowercase words joined by dots (``"subscription.activated"``).
        occurred_at: when it happened, timezone-aware; written in UTC (``...Z``).
        data: the event's own members: JSON values (text, numbers, booleans, None, lists,
            mappings with text keys); a timezone-aware datetime is written as in
            ``timestamp``.

    Returns:
        The UTF-8 JSON of ``{"type", "id", "timestamp", "version", "data"}``, members sorted,
        without spaces.

    Raises:
        InvalidInput: an id or type that breaks its rule, a naive instant, or data that is not
            JSON (a set, an object, NaN, a lone surrogate).
    """
    check_message_id(event_id)
    check_event_type(event_type)
    if not isinstance(occurred_at, dt.datetime):
        raise InvalidInput(f"occurred_at must be a timezone-aware datetime, not {occurred_at!r}")
    if not isinstance(data, Mapping):
        raise InvalidInput(f"data must be a mapping of members, not {type(data).__name__}")
    envelope = {
        "type": event_type,
        "id": event_id,
        "timestamp": _instant(occurred_at, "occurred_at"),
        "version": ENVELOPE_VERSION,
        "data": dict(data),
    }
    try:
        text = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False, default=_json_value)  # fmt: skip
        return text.encode("utf-8")
    except InvalidInput:
        raise
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"the data of event {event_id} is not JSON: {exc}") from None


def envelope_of(feed_event: FeedEvent) -> bytes:
    """The body of a feed event's deliveries: its envelope, ``data`` holding the event's own
    members, its ``subscription_id`` and its ``audit`` (who caused it), as
    ``FeedEvent.payload()`` gives them.

    Args:
        feed_event: one event of the store's feed.

    Returns:
        The bytes of :func:`render_envelope`.
    """
    payload = feed_event.payload()
    data = dict(cast(Mapping[str, object], payload["data"]))
    data["subscription_id"] = feed_event.event.subscription_id
    data["audit"] = payload["audit"]
    return render_envelope(feed_event.id, feed_event.type, feed_event.event.at, data)
