"""What the SQL stores' units of work are made of: the DB-API cursor we use, the dialect that
says what differs between SQLite and PostgreSQL, the one text layout of instants, and the
statement runner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs

from reseller_plans.domain.events import Event

__all__ = ["Cursor", "Dialect", "Execute", "SQLBase", "utc_text"]


class Cursor(Protocol):
    """What we use of a DB-API cursor."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


Execute = Callable[[str, Sequence[Any]], Cursor]


@attrs.frozen
class Dialect:
    """What differs between the SQL stores.

    Attributes:
        marker: the parameter marker (``?`` or ``%s``); our SQL is written with ``?``.
        insertion_order: the column that orders rows by insertion.
        is_integrity_error: tells a uniqueness violation from other errors.
        feed_transaction: see the attribute.
        feed_visible: see the attribute.
    """

    marker: str
    insertion_order: str
    is_integrity_error: Callable[[BaseException], bool]
    feed_transaction: str = "0"
    """The SQL of an event row's transaction, in the feed's order (``0`` when the store commits
    one writer at a time)."""
    feed_visible: str = "1 = 1"
    name: str = "sql"
    """Names the store's kind in its feed cursors, so that one kind's is refused by another."""
    """The SQL condition an event row meets once no transaction still running could come
    before it in the feed."""


def utc_text(value: dt.datetime) -> str:
    """A sortable text form: every time is stored in UTC with the same layout."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


class SQLBase:
    """Runs our SQL (written with ``?``) in the dialect's parameter style."""

    def __init__(self, execute: Execute, dialect: Dialect) -> None:
        self._execute = execute
        self._dialect = dialect
        self.written: list[Event] = []
        """The events this transaction appended, in order (for the store's listeners)."""

    @property
    def _feed_order(self) -> str:
        """The ``ORDER BY`` of events in the feed's order."""
        key = self._dialect.feed_transaction
        return "seq" if key == "0" else f"{key}, seq"

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self._dialect.marker != "?":
            sql = sql.replace("?", self._dialect.marker)
        return self._execute(sql, params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._run(sql, params).fetchone()
        return None if row is None else row[0]
