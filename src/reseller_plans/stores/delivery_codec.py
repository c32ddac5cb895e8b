"""How a webhook delivery's record is written to a database, as JSON.

A delivery's row names it (its endpoint and event) and holds the columns its queries read (its
subscription and its place in the feed, its state and when its next attempt is due); the
``record`` column holds the rest of its :class:`~reseller_plans.domain.deliveries.DeliveryRecord`
as JSON: its state and next attempt again (written together with their columns, from the same
record), its attempts, the last attempt's :class:`~reseller_plans.domain.deliveries.AttemptResult`,
and what operators did to it. Instants are written in the layout of ``sql_base.utc_text`` and
read back as aware datetimes in UTC.

One codec for every SQL store, so SQLite and PostgreSQL hold the same documents.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from reseller_plans.domain.deliveries import (
    AttemptOutcome,
    AttemptResult,
    DeadReason,
    DeliveryRecord,
    DeliveryState,
)
from reseller_plans.stores.sql_base import utc_text

__all__ = ["dumps_delivery", "loads_delivery"]


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else utc_text(value)


def _parse_time(value: Any) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _result_to_dict(result: AttemptResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome.value,
        "at": utc_text(result.at),
        "status": result.status,
        "error": result.error,
        "duration": result.duration,
        "retry_after": result.retry_after,
    }


def _result_from_dict(data: dict[str, Any]) -> AttemptResult:
    at = dt.datetime.fromisoformat(data["at"])
    return AttemptResult(
        outcome=AttemptOutcome(data["outcome"]),
        at=at,
        status=data["status"],
        error=data["error"],
        duration=data["duration"],
        retry_after=data["retry_after"],
    )


def dumps_delivery(record: DeliveryRecord) -> str:
    """The ``record`` column of a delivery: its record less what names it and places it.

    Args:
        record: the delivery's record.

    Returns:
        JSON text (ASCII: every other character escaped) without the endpoint, the event, the
        subscription and the sequence, which are the row's own columns.
    """
    last = record.last_result
    return json.dumps(
        {
            "state": record.state.value,
            "attempts": record.attempts,
            "first_attempt_at": _time(record.first_attempt_at),
            "next_attempt_at": _time(record.next_attempt_at),
            "last_result": None if last is None else _result_to_dict(last),
            "dead_reason": None if record.dead_reason is None else record.dead_reason.value,
            "redrives": record.redrives,
            "redriven_by": record.redriven_by,
            "redriven_at": _time(record.redriven_at),
            "skipped_by": record.skipped_by,
            "skipped_at": _time(record.skipped_at),
        },
        separators=(",", ":"),
    )


def loads_delivery(
    text: str | bytes, *, endpoint_id: str, event_id: str, subscription_id: str, sequence: int
) -> DeliveryRecord:
    """A delivery's record, from its row: the ``record`` column and the columns that name it.

    Args:
        text: the ``record`` column (what :func:`dumps_delivery` wrote).
        endpoint_id: the row's endpoint.
        event_id: the row's event.
        subscription_id: the row's subscription.
        sequence: the row's place in the feed (its ``seq`` column).

    Returns:
        The record, its instants aware and in UTC.
    """
    data = json.loads(text)
    last = data["last_result"]
    reason = data["dead_reason"]
    return DeliveryRecord(
        endpoint_id=endpoint_id,
        event_id=event_id,
        subscription_id=subscription_id,
        sequence=int(sequence),
        state=DeliveryState(data["state"]),
        attempts=data["attempts"],
        first_attempt_at=_parse_time(data["first_attempt_at"]),
        next_attempt_at=_parse_time(data["next_attempt_at"]),
        last_result=None if last is None else _result_from_dict(last),
        dead_reason=None if reason is None else DeadReason(reason),
        redrives=data["redrives"],
        redriven_by=data["redriven_by"],
        redriven_at=_parse_time(data["redriven_at"]),
        skipped_by=data["skipped_by"],
        skipped_at=_parse_time(data["skipped_at"]),
    )
