"""Values packed into bytes: how ``InMemoryStore`` keeps what it holds long and reads rarely.

A simulation of ten thousand resellers over a year keeps ten thousand subscriptions, over a
hundred thousand events and twenty thousand messages to the end. As Python objects a settled
subscription costs about 450 bytes (an object, its attribute dict, its term and two datetimes)
and an event about fifty even flattened into a list; packed, about a hundred and a dozen.
Reading a record back builds new objects equal to those packed.

Two formats. Events are packed in the compact one below, and read back rarely. Subscriptions
and settled outbox entries, read and written far more often, become tuples of numbers and
strings that ``marshal`` (in C) turns into bytes, four times faster for a few bytes more
(:func:`pack_subscription`, :func:`append_entry`).

The compact format is a run of tagged values, each a tag byte then its payload (lengths and
numbers as varints, low seven bits first):

- ``None``, ``False``, ``True``: the tag alone;
- ``int``: zigzag varint; ``str``: length then UTF-8 (a lone surrogate passes through);
- ``datetime`` in UTC: whole hours, or seconds, or seconds and microseconds, since 2000-01-01;
  any other datetime pickled (naive, earlier, or in another zone, which stays that zone);
- an ``enum.Enum`` member: the code of its class and its position in it;
- a class (an event's type): its code;
- a ``tuple``: its length then its items.

Class codes are given in the order classes are first packed, by this process: packed bytes are a
memory format, never written to disk nor sent anywhere (the SQL stores have ``codec``).
"""

from __future__ import annotations

import datetime as dt
import enum
import marshal
import pickle
import threading
from collections.abc import Callable, Iterable
from typing import Any

from reseller_plans.domain.alias import StorefrontAlias
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
    "has_entry",
    "pack",
    "pack_subscription",
    "packed",
    "unpack",
    "unpack_entries",
    "unpack_subscription",
    "unpacked",
]

(_NONE, _FALSE, _TRUE, _INT, _STR, _HOURS, _SECONDS, _MICROS, _PICKLED) = range(9)
(_MEMBER, _CLASS, _TUPLE) = range(9, 12)

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_DAY = 86_400
_EPOCH_TIMESTAMP = 946_684_800  # 2000-01-01 in seconds since 1970
_HOUR = 3_600

_Packer = Callable[[object, bytearray], None]


def _varint(n: int, out: bytearray) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _pack_str(value: str, out: bytearray) -> None:
    data = value.encode("utf-8", "surrogatepass")  # text from JSON may hold a lone surrogate
    size = len(data)
    if size < 0x80:
        out += bytes((_STR, size))
    else:
        out.append(_STR)
        _varint(size, out)
    out += data


def _pack_int(value: int, out: bytearray) -> None:
    out.append(_INT)
    _varint(value << 1 if value >= 0 else ((-value) << 1) - 1, out)


_last_instant: tuple[object, bytes] = (None, b"")
"""The last datetime packed and its bytes: the events of one commit share their instant."""


def _pack_datetime(value: dt.datetime, out: bytearray) -> None:
    global _last_instant  # noqa: PLW0603 - a one-entry memo, swapped whole (thread-safe)
    last = _last_instant
    if last[0] is value:
        out += last[1]
        return
    start = len(out)
    _pack_new_datetime(value, out)
    _last_instant = (value, bytes(out[start:]))


def _pack_new_datetime(value: dt.datetime, out: bytearray) -> None:
    if value.tzinfo is dt.UTC and value >= _EPOCH:
        delta = value - _EPOCH  # exact, where a float timestamp is not
        seconds, micros = delta.days * _DAY + delta.seconds, delta.microseconds
        if micros:
            out.append(_MICROS)
            _varint(seconds, out)
            _varint(micros, out)
        elif seconds % _HOUR:
            out.append(_SECONDS)
            _varint(seconds, out)
        else:
            out.append(_HOURS)
            _varint(seconds // _HOUR, out)
        return
    data = pickle.dumps(value)  # naive, before 2000, or another zone (a ZoneInfo stays one)
    out.append(_PICKLED)
    _varint(len(data), out)
    out += data


def _pack_tuple(value: tuple[object, ...], out: bytearray) -> None:
    out.append(_TUPLE)
    _varint(len(value), out)
    pack(value, out)


def _pack_none(value: None, out: bytearray) -> None:
    out.append(_NONE)


def _pack_bool(value: bool, out: bytearray) -> None:
    out.append(_TRUE if value else _FALSE)


def _pack_class(value: type, out: bytearray) -> None:
    out.append(_CLASS)
    _varint(_code(value), out)


_PACKERS: dict[type, _Packer] = {
    str: _pack_str,  # type: ignore[dict-item]
    type(None): _pack_none,  # type: ignore[dict-item]
    bool: _pack_bool,  # type: ignore[dict-item]
    int: _pack_int,  # type: ignore[dict-item]
    dt.datetime: _pack_datetime,  # type: ignore[dict-item]
    tuple: _pack_tuple,  # type: ignore[dict-item]
    type: _pack_class,  # type: ignore[dict-item]
}
"""How to pack a value, by its exact type; enum and attrs classes are added as they are met."""

_SINGLETONS: dict[int, bytes] = {id(None): bytes((_NONE,)), id(False): bytes((_FALSE,))}
_SINGLETONS[id(True)] = bytes((_TRUE,))
"""The packed bytes of None, False, True and every enum member met so far, by identity (enum
members live as long as their class, which ``_members`` keeps)."""

_classes: list[type] = []
"""Every class given a code so far, by code."""
_codes: dict[type, int] = {}
_members: dict[int, tuple[enum.Enum, ...]] = {}
"""An enum class's code → its members in order (a member is packed as its position)."""
_registering = threading.Lock()


def _code(cls: type) -> int:
    code = _codes.get(cls)
    if code is None:
        with _registering:
            code = _codes.get(cls)
            if code is None:
                code = len(_classes)
                if issubclass(cls, enum.Enum):
                    _members[code] = tuple(cls)
                _classes.append(cls)
                _codes[cls] = code
    return code


def _packer_of(cls: type) -> _Packer:
    """The packer of an enum class, made the first time one of its members is packed."""
    if not issubclass(cls, enum.Enum):
        raise TypeError(f"cannot pack a {cls.__name__}")
    head = bytes((_MEMBER,)) + _varint_bytes(_code(cls))
    for position, member in enumerate(_members[_codes[cls]]):
        _SINGLETONS[id(member)] = head + _varint_bytes(position)

    def pack_member(value: object, out: bytearray) -> None:
        out += _SINGLETONS[id(value)]

    _PACKERS[cls] = pack_member
    return pack_member


def _varint_bytes(n: int) -> bytes:
    out = bytearray()
    _varint(n, out)
    return bytes(out)


def pack(values: Iterable[object], out: bytearray) -> None:
    """Append ``values`` to ``out``.

    Raises:
        TypeError: a value of a type the format does not know (a programming error: the store
            packs only subscriptions, events and outbox entries).
    """
    packers, singletons = _PACKERS, _SINGLETONS
    for value in values:
        single = singletons.get(id(value))
        if single is not None:
            out += single
            continue
        cls = type(value)
        if cls is str:
            data = value.encode("utf-8", "surrogatepass")  # type: ignore[attr-defined]
            size = len(data)
            if size < 0x80:
                out += bytes((_STR, size))
                out += data
                continue
        (packers.get(cls) or _packer_of(cls))(value, out)


def packed(value: object) -> bytes:
    """One value, packed."""
    out = bytearray()
    pack((value,), out)
    return bytes(out)


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    n, shift = 0, 0
    while True:
        byte = buf[i]
        i += 1
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            return n, i
        shift += 7


_CONSTANTS: tuple[object, ...] = (None, False, True)


def unpack(buf: bytes, offset: int, count: int) -> tuple[list[object], int]:
    """Read ``count`` values from ``buf`` at ``offset``; return them and the offset after them."""
    values: list[object] = []
    append = values.append
    epoch, delta = _EPOCH, dt.timedelta
    i = offset
    for _ in range(count):
        tag = buf[i]
        i += 1
        if tag <= _TRUE:
            append(_CONSTANTS[tag])
            continue
        n = buf[i]  # the first varint of every other tag; most fit in one byte
        i += 1
        if n >= 0x80:
            n, i = _read_varint(buf, i - 1)
        if tag == _STR:
            append(buf[i : i + n].decode("utf-8", "surrogatepass"))
            i += n
        elif tag == _MEMBER:
            position = buf[i]
            if position < 0x80:
                i += 1
            else:
                position, i = _read_varint(buf, i)
            append(_members[n][position])
        elif tag == _HOURS:
            append(epoch + delta(hours=n))
        elif tag == _CLASS:
            append(_classes[n])
        elif tag == _SECONDS:
            append(epoch + delta(seconds=n))
        elif tag == _INT:
            append(n >> 1 if not n & 1 else -((n + 1) >> 1))
        elif tag == _TUPLE:
            items, i = unpack(buf, i, n)
            append(tuple(items))
        elif tag == _MICROS:
            micros, i = _read_varint(buf, i)
            append(epoch + delta(seconds=n, microseconds=micros))
        elif tag == _PICKLED:
            append(pickle.loads(buf[i : i + n]))  # noqa: S301 - bytes this process packed
            i += n
        else:
            raise ValueError(f"not packed values: tag {tag} at {i}")
    return values, i


def unpacked(buf: bytes) -> object:
    """The one value ``buf`` holds (see :func:`packed`)."""
    (value,), _ = unpack(buf, 0, 1)
    return value


# ---------------------------------------------------------------------- subscriptions
#
# A subscription is read and written back far more often than an event or a message (every
# saga step, every renewal), so it has a layout of its own, made for speed: its fields become a
# tuple of numbers and strings that ``marshal`` (in C) turns into bytes and back, four times
# faster than the tagged format above for a tenth more bytes. Its operation (while one is under
# way or awaits a retry) too.

_SUBSCRIPTION_FIELDS = (
    "id",
    "account_id",
    "distributor_id",
    "plan",
    "alias",
    "status",
    "term",
    "channel",
    "pending_change",
    "operation",
    "platform_subscription_id",
    "failure_reason",
    "version",
)
_PLANS = tuple(Plan)
_STATUSES = tuple(SubscriptionStatus)
_CYCLES = tuple(BillingCycle)
_CHANNELS = tuple(Channel)
_PENDING_KINDS = tuple(PendingKind)
_OPERATION_KINDS = tuple(OperationKind)
_STEP_ACTIONS = tuple(StepAction)
_SYNC_STATUSES = tuple(SyncStatus)
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
    )
    for i, member in enumerate(members)
}


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


_Instant = int | tuple[int, int] | bytes


def _instant(value: dt.datetime) -> _Instant:
    """A datetime for ``marshal``: seconds since 2000 in UTC (with microseconds when it has
    some), or any other datetime pickled (naive, or in another zone: a ZoneInfo stays one)."""
    if value.tzinfo is not dt.UTC:
        return pickle.dumps(value)
    delta = value - _EPOCH
    seconds = delta.days * _DAY + delta.seconds
    return (seconds, delta.microseconds) if delta.microseconds else seconds


def _from_instant(value: _Instant) -> dt.datetime:
    if type(value) is int:
        try:
            return dt.datetime.fromtimestamp(_EPOCH_TIMESTAMP + value, dt.UTC)  # exact for ints
        except (OverflowError, OSError, ValueError):  # beyond what the platform's C time knows
            return _EPOCH + dt.timedelta(seconds=value)
    if type(value) is tuple:
        return _EPOCH + dt.timedelta(seconds=value[0], microseconds=value[1])
    return pickle.loads(value)  # type: ignore[no-any-return,arg-type]  # noqa: S301 - packed here


def pack_subscription(sub: Subscription) -> bytes:
    """A subscription as ``InMemoryStore`` keeps the ones it has not used lately."""
    term, change, op, alias = sub.term, sub.pending_change, sub.operation, sub.alias
    position = _POSITION
    return marshal.dumps(
        (
            sub.id,
            sub.account_id,
            sub.distributor_id,
            position[sub.plan],
            None if alias is None else alias.value,
            position[sub.status],
            _instant(term.start),
            _instant(term.end),
            position[term.cycle],
            term.auto_renew,
            term.anchor_day,
            position[sub.channel],
            None
            if change is None
            else (position[change.kind], _instant(change.effective_at), position[change.plan]),
            None if op is None else _operation_fields(op),
            sub.platform_subscription_id,
            sub.failure_reason,
            sub.version,
        )
    )


_new = object.__new__
_set_alias = StorefrontAlias.__dict__["value"].__set__


def unpack_subscription(data: bytes) -> Subscription:
    """The subscription :func:`pack_subscription` packed (equal to it, not the same object)."""
    fields = marshal.loads(data)  # noqa: S302 - bytes packed by this process, never from outside
    sid, account, distributor, plan, alias_value, status, start, end = fields[:8]
    cycle, auto_renew, anchor, channel, change, op, platform_id, reason, version = fields[8:]
    term = Term(_from_instant(start), _from_instant(end), _CYCLES[cycle], auto_renew, anchor)
    alias = None
    if alias_value is not None:  # valid when it was packed: not parsed again
        alias = _new(StorefrontAlias)
        _set_alias(alias, alias_value)
    pending = None
    if change is not None:
        kind, effective_at, pending_plan = change
        pending = PendingChange(
            _PENDING_KINDS[kind], _from_instant(effective_at), _PLANS[pending_plan]
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


# ---------------------------------------------------------------------- outbox entries
#
# A subscription's settled messages (sent, or refused for good) are read whenever its outbox
# is (after every command, to send what is new), so they get a ``marshal`` layout too: one
# tuple of entries per subscription, each entry a tuple of numbers and strings.

_MESSAGE_KINDS = tuple(MessageKind)
_KIND_POSITION = {kind: i for i, kind in enumerate(_MESSAGE_KINDS)}


def append_entry(data: bytes | None, entry: OutboxEntry, *, keep_context: bool) -> bytes:
    """``data`` (packed entries of one subscription; None or empty for none) with ``entry``
    added at the end;
    the entry's context is kept only with ``keep_context``."""
    sent = entry.sent_at
    context = tuple(v for item in entry.context.items() for v in item) if keep_context else ()
    fields = (
        entry.id,
        _KIND_POSITION[entry.kind],
        entry.to,
        _instant(entry.created_at),
        None if sent is None else _instant(sent),
        entry.attempts,
        entry.last_error,
        entry.failed_permanently,
        context,
    )
    before = marshal.loads(data) if data else ()  # noqa: S302 - packed by this process
    return marshal.dumps((*before, fields))


def unpack_entries(subscription_id: str, data: bytes) -> list[OutboxEntry]:
    """The entries :func:`append_entry` packed, in order."""
    entries: list[OutboxEntry] = []
    if not data:
        return entries
    for fields in marshal.loads(data):  # noqa: S302 - packed by this process
        eid, kind, to, created, sent, attempts, error, failed, context = fields
        entries.append(
            OutboxEntry(
                eid,
                subscription_id,
                _MESSAGE_KINDS[kind],
                to,
                dict(zip(context[::2], context[1::2], strict=True)),
                _from_instant(created),
                None if sent is None else _from_instant(sent),
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
    return any(fields[0] == entry_id for fields in marshal.loads(data))  # noqa: S302
