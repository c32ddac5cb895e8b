"""Values packed into bytes: how ``InMemoryStore`` keeps what it only appends and rarely reads.

A simulation of ten thousand resellers over a year commits over a hundred thousand events and
twenty thousand messages, and keeps them to the end. As Python objects an event costs about fifty
bytes even flattened into a list (a slot per field, a datetime object per instant, a list per
subscription); packed, a dozen. Reading a record back builds new objects equal to those packed.

The format is a run of tagged values, each a tag byte then its payload (lengths and numbers as
varints, little end first):

- ``None``, ``False``, ``True``: the tag alone;
- ``int``: zigzag varint; ``str``: length then UTF-8;
- ``datetime`` in UTC: seconds since 2000-01-01 (then microseconds, when not zero); any other
  datetime as its ISO 8601 text, which round-trips its offset;
- an ``enum.Enum`` member: the code of its class and its position in it;
- a class (an event's type): its code;
- a ``tuple``: its length then its items.

Class codes are given in the order classes are first packed, by this process: packed bytes are a
memory format, never written to disk nor sent anywhere (the SQL stores have ``codec``).
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from collections.abc import Callable, Iterable

__all__ = ["pack", "unpack"]

_NONE, _FALSE, _TRUE, _INT, _STR, _SECONDS, _MICROS, _ISO, _MEMBER, _CLASS, _TUPLE = range(11)

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_DAY = 86_400

_classes: list[type] = []
"""Every class packed so far (enum classes and others), by code."""
_codes: dict[type, int] = {}
_members: dict[type, tuple[enum.Enum, ...]] = {}
"""An enum class → its members in order (a member is packed as its position)."""
_positions: dict[enum.Enum, int] = {}
_registering = threading.Lock()


def _code(cls: type) -> int:
    code = _codes.get(cls)
    if code is None:
        with _registering:
            code = _codes.get(cls)
            if code is None:
                if issubclass(cls, enum.Enum):
                    members = _members[cls] = tuple(cls)
                    _positions.update((m, i) for i, m in enumerate(members))
                _classes.append(cls)
                code = _codes[cls] = len(_classes) - 1
    return code


def _varint(n: int, out: bytearray) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _pack_str(value: str, out: bytearray) -> None:
    data = value.encode()
    out.append(_STR)
    _varint(len(data), out)
    out += data


def _pack_int(value: int, out: bytearray) -> None:
    out.append(_INT)
    _varint(value << 1 if value >= 0 else ((-value) << 1) - 1, out)


def _pack_datetime(value: dt.datetime, out: bytearray) -> None:
    if value.tzinfo is dt.UTC and value >= _EPOCH:
        delta = value - _EPOCH
        seconds = delta.days * _DAY + delta.seconds
        if delta.microseconds:
            out.append(_MICROS)
            _varint(seconds, out)
            _varint(delta.microseconds, out)
        else:
            out.append(_SECONDS)
            _varint(seconds, out)
        return
    out.append(_ISO)
    _pack_str(value.isoformat(), out)


def _pack_tuple(value: tuple[object, ...], out: bytearray) -> None:
    out.append(_TUPLE)
    _varint(len(value), out)
    pack(value, out)


def _pack_none(value: None, out: bytearray) -> None:
    out.append(_NONE)


def _pack_bool(value: bool, out: bytearray) -> None:
    out.append(_TRUE if value else _FALSE)


_PACKERS: dict[type, Callable[[object, bytearray], None]] = {
    str: _pack_str,  # type: ignore[dict-item]
    type(None): _pack_none,  # type: ignore[dict-item]
    bool: _pack_bool,  # type: ignore[dict-item]
    int: _pack_int,  # type: ignore[dict-item]
    dt.datetime: _pack_datetime,  # type: ignore[dict-item]
    tuple: _pack_tuple,  # type: ignore[dict-item]
}


def pack(values: Iterable[object], out: bytearray) -> None:
    """Append ``values`` to ``out``.

    Raises:
        TypeError: a value of a type the format does not know (a programming error: the store
            packs only events and outbox entries).
    """
    packers = _PACKERS
    for value in values:
        packer = packers.get(type(value))
        if packer is not None:
            packer(value, out)
        elif isinstance(value, enum.Enum):
            code = _code(type(value))
            out.append(_MEMBER)
            _varint(code, out)
            _varint(_positions[value], out)
        elif isinstance(value, type):
            out.append(_CLASS)
            _varint(_code(value), out)
        else:
            raise TypeError(f"cannot pack a {type(value).__name__}: {value!r}")


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    byte = buf[i]
    if byte < 0x80:
        return byte, i + 1
    n, shift = byte & 0x7F, 7
    while True:
        i += 1
        byte = buf[i]
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            return n, i + 1
        shift += 7


_CONSTANTS: dict[int, object] = {_NONE: None, _FALSE: False, _TRUE: True}


def unpack(buf: bytes, offset: int, count: int) -> tuple[list[object], int]:
    """Read ``count`` values from ``buf`` at ``offset``; return them and the offset after them."""
    values: list[object] = []
    i = offset
    for _ in range(count):
        tag = buf[i]
        i += 1
        value: object
        if tag in _CONSTANTS:
            value = _CONSTANTS[tag]
        elif tag == _STR:
            size, i = _read_varint(buf, i)
            value = buf[i : i + size].decode()
            i += size
        elif tag == _MEMBER:
            code, i = _read_varint(buf, i)
            position, i = _read_varint(buf, i)
            value = _members[_classes[code]][position]
        elif tag == _SECONDS:
            seconds, i = _read_varint(buf, i)
            value = _EPOCH + dt.timedelta(seconds=seconds)
        elif tag == _CLASS:
            code, i = _read_varint(buf, i)
            value = _classes[code]
        elif tag == _INT:
            zigzag, i = _read_varint(buf, i)
            value = zigzag >> 1 if not zigzag & 1 else -((zigzag + 1) >> 1)
        elif tag == _MICROS:
            seconds, i = _read_varint(buf, i)
            micros, i = _read_varint(buf, i)
            value = _EPOCH + dt.timedelta(seconds=seconds, microseconds=micros)
        elif tag == _TUPLE:
            size, i = _read_varint(buf, i)
            items, i = unpack(buf, i, size)
            value = tuple(items)
        elif tag == _ISO:
            (text,), i = unpack(buf, i, 1)
            value = dt.datetime.fromisoformat(text)  # type: ignore[arg-type]
        else:
            raise ValueError(f"not packed values: tag {tag} at {i - 1}")
        values.append(value)
    return values, i
