"""Records packed into bytes: how the simulator's ``PackedStore`` keeps what it holds long.

A simulation of ten thousand resellers over a year keeps ten thousand subscriptions, over a
hundred thousand events and twenty thousand messages to the end. As Python objects a settled
subscription costs about 450 bytes (an object, its attribute dict, its term and two datetimes)
and an event about fifty even flattened into a list; packed, about seventy and fifteen. Reading
a record back builds new objects equal to those packed.

One format for every record: its fields become a tuple of plain values (``None``, booleans,
integers, strings, bytes, and tuples of them) that ``marshal`` (in C) turns into bytes and back.
The fields become plain values so:

- an enum member (a plan, a status, a step, a message kind): its position in its class;
- a datetime in UTC: seconds since 2000-01-01 (an ``int``), or seconds and microseconds (a pair);
  any other datetime pickled (naive, or in another zone, which stays that zone);
- an event's class: its position in ``EVENT_TYPES``; its audit (``Event.audit``) is not kept.

Each kind of record has a fixed layout (:func:`pack_subscription`, :func:`pack_events`,
:func:`append_entry`), so a value needs no tag saying what it is. Positions are those of this
version of the library: packed bytes are a memory format, never written to disk nor sent anywhere
(the SQL stores have ``reseller_plans.stores.codec``). Nothing here keeps state between calls.
"""

from __future__ import annotations

import datetime as dt
import enum
import marshal
import pickle
import typing
from collections.abc import Callable, Iterable, Sequence
from types import NoneType, UnionType
from typing import Any

import attrs

from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.events import EVENT_TYPES, Event
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
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
    "append_entry",
    "from_instant",
    "has_entry",
    "instant",
    "pack_events",
    "pack_subscription",
    "unpack_entries",
    "unpack_events",
    "unpack_subscription",
]

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_EPOCH_TIMESTAMP = 946_684_800  # 2000-01-01 in seconds since 1970
_DAY = 86_400

Instant = int | tuple[int, int] | bytes
"""A datetime as a plain value (see :func:`instant`)."""


def instant(value: dt.datetime) -> Instant:
    """A datetime as a plain value: seconds since 2000 in UTC (with microseconds when it has
    some), or any other datetime pickled (naive, or in another zone: a ZoneInfo stays one)."""
    if value.tzinfo is not dt.UTC:
        return pickle.dumps(value)
    delta = value - _EPOCH  # exact, where a float timestamp is not
    seconds = delta.days * _DAY + delta.seconds
    return (seconds, delta.microseconds) if delta.microseconds else seconds


def from_instant(value: Instant) -> dt.datetime:
    """The datetime :func:`instant` made plain."""
    if type(value) is int:
        try:
            return dt.datetime.fromtimestamp(_EPOCH_TIMESTAMP + value, dt.UTC)  # exact for ints
        except (OverflowError, OSError, ValueError):  # beyond what the platform's C time knows
            return _EPOCH + dt.timedelta(seconds=value)
    if type(value) is tuple:
        return _EPOCH + dt.timedelta(seconds=value[0], microseconds=value[1])
    return pickle.loads(value)  # type: ignore[no-any-return,arg-type]  # noqa: S301 - packed here


def _dumps(fields: tuple[Any, ...], what: str) -> bytes:
    try:
        return marshal.dumps(fields)
    except ValueError:  # a value marshal does not know: a programming error of the caller
        raise TypeError(f"cannot pack {what}: a field holds a value of an unknown type") from None


def _loads(data: bytes) -> Any:
    return marshal.loads(data)  # noqa: S302 - bytes packed by this process, never from outside


# ---------------------------------------------------------------------- enum positions

_PLANS = tuple(Plan)
_STATUSES = tuple(SubscriptionStatus)
_CYCLES = tuple(BillingCycle)
_CHANNELS = tuple(Channel)
_PENDING_KINDS = tuple(PendingKind)
_OPERATION_KINDS = tuple(OperationKind)
_STEP_ACTIONS = tuple(StepAction)
_SYNC_STATUSES = tuple(SyncStatus)
_MESSAGE_KINDS = tuple(MessageKind)
_POSITION: dict[enum.Enum, int] = {
    member: i
    for members in (
        _PLANS,
        _STATUSES,
        _CYCLES,
        _CHANNELS,
        _PENDING_KINDS,
        _OPERATION_KINDS,
        _STEP_ACTIONS,
        _SYNC_STATUSES,
        _MESSAGE_KINDS,
    )
    for i, member in enumerate(members)
}


# ---------------------------------------------------------------------- subscriptions
#
# A subscription is read and written back far more often than an event or a message (every
# saga step, every renewal), so its layout is written out by hand, field by field: no loop over
# converters.

_SUBSCRIPTION_FIELDS = tuple(f.name for f in attrs.fields(Subscription))


def _operation_fields(op: Operation) -> tuple[Any, ...]:
    position = _POSITION
    return (
        position[op.kind],
        position[op.plan],
        position[op.previous_plan],
        tuple([position[step] for step in op.steps]),
        op.done,
        op.compensating,
        op.undone,
        position[op.sync],
        op.reason,
        op.detail,
        op.id,
        op.product_id,
    )


def _operation(fields: tuple[Any, ...]) -> Operation:
    kind, plan, previous, steps, done, compensating, undone, sync = fields[:8]
    reason, detail, op_id, product_id = fields[8:]
    return Operation(
        _OPERATION_KINDS[kind],
        _PLANS[plan],
        _PLANS[previous],
        tuple([_STEP_ACTIONS[step] for step in steps]),
        done,
        compensating,
        undone,
        _SYNC_STATUSES[sync],
        reason,
        detail,
        op_id,
        product_id,
    )


def pack_subscription(sub: Subscription) -> bytes:
    """A subscription as bytes.

    Raises:
        KeyError: a field holds an enum member of another class than its own.
        TypeError: a field holds a value of a type the layout does not know.
    """
    term, change, op, alias = sub.term, sub.pending_change, sub.operation, sub.alias
    position = _POSITION
    fields = (
        sub.id,
        sub.account_id,
        sub.distributor_id,
        position[sub.plan],
        None if alias is None else alias.value,
        position[sub.status],
        instant(term.start),
        instant(term.end),
        position[term.cycle],
        term.auto_renew,
        term.anchor_day,
        position[sub.channel],
        None
        if change is None
        else (position[change.kind], instant(change.effective_at), position[change.plan]),
        None if op is None else _operation_fields(op),
        sub.platform_subscription_id,
        sub.failure_reason,
        sub.version,
    )
    return _dumps(fields, f"subscription {sub.id}")


_new = object.__new__
_set_alias = StorefrontAlias.__dict__["value"].__set__


def unpack_subscription(data: bytes) -> Subscription:
    """The subscription :func:`pack_subscription` packed (equal to it, not the same object)."""
    fields = _loads(data)
    sid, account, distributor, plan, alias_value, status, start, end = fields[:8]
    cycle, auto_renew, anchor, channel, change, op, platform_id, reason, version = fields[8:]
    term = Term(from_instant(start), from_instant(end), _CYCLES[cycle], auto_renew, anchor)
    alias = None
    if alias_value is not None:  # valid when it was packed: not parsed again
        alias = _new(StorefrontAlias)
        _set_alias(alias, alias_value)
    pending = None
    if change is not None:
        kind, effective_at, pending_plan = change
        pending = PendingChange(
            _PENDING_KINDS[kind], from_instant(effective_at), _PLANS[pending_plan]
        )
    sub: Subscription = _new(Subscription)
    sub.__dict__.update(
        zip(
            _SUBSCRIPTION_FIELDS,
            (
                sid,
                account,
                distributor,
                _PLANS[plan],
                alias,
                _STATUSES[status],
                term,
                _CHANNELS[channel],
                pending,
                None if op is None else _operation(op),
                platform_id,
                reason,
                version,
            ),
            strict=True,
        )
    )
    return sub


# ---------------------------------------------------------------------- events
#
# A subscription's history is one flat tuple: for each event its class's position, then its
# fields after ``subscription_id`` (the history's key) made plain by the converters of its
# class's layout, which follow from the fields' declared types.

_Convert = Callable[[Any], Any]


def _plain(value: Any) -> Any:
    if value is None or type(value) in (str, int, bool):
        return value
    raise TypeError(f"cannot pack a {type(value).__name__} as a plain value")


def _same(value: Any) -> Any:
    return value


def _optional(convert: _Convert) -> _Convert:
    def maybe(value: Any) -> Any:
        return None if value is None else convert(value)

    return maybe


def _converters(declared: object) -> tuple[_Convert, _Convert]:
    """How to make a value of this declared type plain, and how to bring it back."""
    args = typing.get_args(declared)
    if isinstance(declared, UnionType) or typing.get_origin(declared) is typing.Union:
        others = [a for a in args if a is not NoneType]
        if len(others) == 1:
            to_plain, back = _converters(others[0])
            return _optional(to_plain), _optional(back)
        return _plain, _same
    if declared is dt.datetime:
        return instant, from_instant
    if isinstance(declared, type) and issubclass(declared, enum.Enum):
        members = tuple(declared)
        positions = {member: i for i, member in enumerate(members)}
        return positions.__getitem__, members.__getitem__
    return _plain, _same


@attrs.frozen
class _Layout:
    """How the events of one class are packed."""

    cls: type[Event]
    code: int
    names: tuple[str, ...]
    """Its fields after ``subscription_id``."""
    to_plain: tuple[_Convert, ...]
    back: tuple[_Convert, ...]


def _layout(code: int, cls: type[Event]) -> _Layout:
    hints = typing.get_type_hints(cls)
    # Not its audit: a simulation's millions of events would keep one each (PackedStore).
    names = tuple(f.name for f in attrs.fields(cls) if f.name != "audit")[1:]
    pairs = [_converters(hints[name]) for name in names]
    return _Layout(cls, code, names, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))


_LAYOUTS: tuple[_Layout, ...] = tuple(
    _layout(code, cls) for code, cls in enumerate(EVENT_TYPES.values())
)
"""Every event class's layout, by its position in ``EVENT_TYPES`` (fixed at import)."""
_LAYOUT_OF: dict[type[Event], _Layout] = {layout.cls: layout for layout in _LAYOUTS}


def pack_events(history: bytes | None, events: Iterable[Event]) -> bytes:
    """``history`` (a subscription's packed events; None or empty for none) with ``events``
    added at the end.

    Raises:
        TypeError: an event of a class outside ``EVENT_TYPES``, or a field holding a value of a
            type its layout does not know.
    """
    values: list[Any] = list(_loads(history)) if history else []
    for event in events:
        layout = _LAYOUT_OF.get(type(event))
        if layout is None:
            raise TypeError(f"cannot pack a {type(event).__name__}: not in EVENT_TYPES")
        values.append(layout.code)
        for name, to_plain in zip(layout.names, layout.to_plain, strict=True):
            values.append(to_plain(getattr(event, name)))
    return _dumps(tuple(values), "events")


def unpack_events(subscription_id: str, history: bytes) -> list[Event]:
    """The events :func:`pack_events` packed, in order (equal to them, not the same objects)."""
    values: Sequence[Any] = _loads(history) if history else ()
    events: list[Event] = []
    i, size = 0, len(values)
    while i < size:
        layout = _LAYOUTS[values[i]]
        end = i + 1 + len(layout.back)
        fields = [back(v) for back, v in zip(layout.back, values[i + 1 : end], strict=True)]
        events.append(layout.cls(subscription_id, *fields))
        i = end
    return events


# ---------------------------------------------------------------------- outbox entries
#
# A subscription's settled messages (sent, or refused for good) are read whenever its outbox
# is (after every command, to send what is new): one tuple of entries per subscription.


def append_entry(data: bytes | None, entry: OutboxEntry, *, keep_context: bool) -> bytes:
    """``data`` (packed entries of one subscription; None or empty for none) with ``entry``
    added at the end; the entry's context is kept only with ``keep_context``."""
    sent = entry.sent_at
    context = tuple(v for item in entry.context.items() for v in item) if keep_context else ()
    fields = (
        entry.id,
        _POSITION[entry.kind],
        entry.to,
        instant(entry.created_at),
        None if sent is None else instant(sent),
        entry.attempts,
        entry.last_error,
        entry.failed_permanently,
        context,
    )
    before = _loads(data) if data else ()
    return _dumps((*before, fields), f"outbox entry {entry.id}")


def unpack_entries(subscription_id: str, data: bytes) -> list[OutboxEntry]:
    """The entries :func:`append_entry` packed, in order."""
    entries: list[OutboxEntry] = []
    if not data:
        return entries
    for fields in _loads(data):
        eid, kind, to, created, sent, attempts, error, failed, context = fields
        entries.append(
            OutboxEntry(
                eid,
                subscription_id,
                _MESSAGE_KINDS[kind],
                to,
                dict(zip(context[::2], context[1::2], strict=True)),
                from_instant(created),
                None if sent is None else from_instant(sent),
                attempts,
                error,
                failed,
            )
        )
    return entries


def has_entry(data: bytes, entry_id: str) -> bool:
    """Whether the packed entries hold one with this id (mostly without unpacking them)."""
    if not data or entry_id.encode("utf-8", "surrogatepass") not in data:
        return False  # its id would be in there, as UTF-8 (marshal lets lone surrogates pass)
    return any(fields[0] == entry_id for fields in _loads(data))
