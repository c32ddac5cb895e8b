"""How subscriptions, events and outbox entries are written to a database, as JSON.

One codec for every SQL store, so SQLite and PostgreSQL hold the same documents.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.events import Event, event_from_dict, event_to_dict
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.saga import with_alias_steps
from reseller_plans.domain.subscription import (
    BillingCycle,
    Channel,
    Operation,
    OperationKind,
    PendingChange,
    PendingKind,
    StepAction,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    Term,
)
from reseller_plans.ports import OutboxEntry

__all__ = [
    "dumps_event",
    "dumps_subscription",
    "loads_event",
    "loads_subscription",
    "outbox_from_row",
    "outbox_to_row",
]


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _utc(value: dt.datetime | None) -> str | None:
    """As :func:`_time`, in UTC (the layout the SQL stores have always written from a UTC
    clock), so that the text sorts as the instants do whatever clock wrote them."""
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _parse_time(value: Any) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def subscription_to_dict(sub: Subscription) -> dict[str, Any]:
    op = sub.operation
    change = sub.pending_change
    return {
        "id": sub.id,
        "account_id": sub.account_id,
        "distributor_id": sub.distributor_id,
        "plan": sub.plan.value,
        "alias": None if sub.alias is None else sub.alias.value,
        "status": sub.status.value,
        "term": {
            "start": _time(sub.term.start),
            "end": _time(sub.term.end),
            "cycle": sub.term.cycle.value,
            "auto_renew": sub.term.auto_renew,
            "anchor_day": sub.term.anchor_day,
        },
        "channel": sub.channel.value,
        "pending_change": None
        if change is None
        else {
            "kind": change.kind.value,
            "effective_at": _time(change.effective_at),
            "plan": change.plan.value,
        },
        "operation": None
        if op is None
        else {
            "kind": op.kind.value,
            "plan": op.plan.value,
            "previous_plan": op.previous_plan.value,
            "steps": [s.value for s in op.steps],
            "done": op.done,
            "compensating": op.compensating,
            "undone": op.undone,
            "sync": op.sync.value,
            "reason": op.reason,
            "detail": op.detail,
            "id": op.id,
            "product_id": op.product_id,
        },
        "platform_subscription_id": sub.platform_subscription_id,
        "failure_reason": sub.failure_reason,
        "version": sub.version,
    }


def subscription_from_dict(data: dict[str, Any]) -> Subscription:
    term = data["term"]
    change = data["pending_change"]
    op = data["operation"]
    start = dt.datetime.fromisoformat(term["start"])
    end = dt.datetime.fromisoformat(term["end"])
    return Subscription(
        id=data["id"],
        account_id=data["account_id"],
        distributor_id=data["distributor_id"],
        plan=Plan(data["plan"]),
        alias=None if data["alias"] is None else StorefrontAlias(data["alias"]),
        status=SubscriptionStatus(data["status"]),
        term=Term(
            start,
            end,
            BillingCycle(term["cycle"]),
            bool(term["auto_renew"]),
            int(term.get("anchor_day", 0)),  # documents written before anchor days: 0
        ),
        channel=Channel(data["channel"]),
        pending_change=None
        if change is None
        else PendingChange(
            PendingKind(change["kind"]),
            dt.datetime.fromisoformat(change["effective_at"]),
            Plan(change["plan"]),
        ),
        operation=None
        if op is None
        else with_alias_steps(
            Operation(
                kind=OperationKind(op["kind"]),
                plan=Plan(op["plan"]),
                previous_plan=Plan(op["previous_plan"]),
                steps=tuple(StepAction(s) for s in op["steps"]),
                done=op["done"],
                compensating=op["compensating"],
                undone=op["undone"],
                sync=SyncStatus(op["sync"]),
                reason=op["reason"],
                detail=op["detail"],
                id=op["id"],
                product_id=op["product_id"],
            )
        ),
        platform_subscription_id=data["platform_subscription_id"],
        failure_reason=data["failure_reason"],
        version=data["version"],
    )


def dumps_subscription(sub: Subscription) -> str:
    return json.dumps(subscription_to_dict(sub), separators=(",", ":"))


def loads_subscription(text: str | bytes) -> Subscription:
    return subscription_from_dict(json.loads(text))


def dumps_event(event: Event) -> str:
    return json.dumps(event_to_dict(event), separators=(",", ":"))


def loads_event(text: str | bytes) -> Event:
    return event_from_dict(json.loads(text))


def outbox_to_row(entry: OutboxEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "subscription_id": entry.subscription_id,
        "kind": entry.kind.value,
        "recipients": json.dumps(list(entry.to)),
        "context": json.dumps(entry.context, sort_keys=True),
        "created_at": _utc(entry.created_at),  # sorted as text: one offset for all
        "sent_at": _utc(entry.sent_at),
        "attempts": entry.attempts,
        "last_error": entry.last_error,
        "failed_permanently": int(entry.failed_permanently),
    }


def outbox_from_row(row: dict[str, Any]) -> OutboxEntry:
    created = dt.datetime.fromisoformat(row["created_at"])
    return OutboxEntry(
        id=row["id"],
        subscription_id=row["subscription_id"],
        kind=MessageKind(row["kind"]),
        to=tuple(json.loads(row["recipients"])),
        context=dict(json.loads(row["context"])),
        created_at=created,
        sent_at=_parse_time(row["sent_at"]),
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
        failed_permanently=bool(row["failed_permanently"]),
    )
