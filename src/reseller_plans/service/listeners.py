"""Callbacks in the process: the host's functions called with each event once it is committed.

``ResellerPlans.add_listener(callback, event_types=...)`` registers one; :class:`Listeners`
keeps them and is itself one listener of the store (``store.add_listener``), registered the
first time a callback is added. After each commit that wrote events, every callback whose
filter the event passes is called with it, in the order the events were recorded.

A callback is the host's code, not the command's: one that raises is logged (with its
traceback, on the ``reseller_plans.events`` logger) and the other callbacks still run; the
command that committed is not failed by it. Callbacks see only what this process commits, in the
committing thread, and nothing at all if the process dies right after a commit: what must not
be missed is read from the feed (``plans.events``) instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import attrs

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.events import Event
from reseller_plans.domain.feed import event_type, event_type_set
from reseller_plans.logs import get_logger

__all__ = ["Listeners", "RemoveListener", "check_event_types"]

RemoveListener = Callable[[], None]
"""What ``add_listener`` returns: call it to stop the callback (calling it again does
nothing)."""

_log = get_logger("events")


def check_event_types(event_types: Iterable[str] | None) -> frozenset[str] | None:
    """The filter of a callback: None for every event, else the set of the types named.

    Raises:
        InvalidInput: a bare string (one type is a list of one), an empty filter, or a name of
            no event type (:func:`~reseller_plans.domain.feed.event_type_set`).
    """
    if event_types is None:
        return None
    wanted = event_type_set(event_types, known_only=True)
    if not wanted:
        raise InvalidInput("event_types is empty: pass None for every event")
    return wanted


@attrs.frozen(eq=False)
class _Listener:
    callback: Callable[[Event], object]
    event_types: frozenset[str] | None

    def wants(self, event: Event) -> bool:
        return self.event_types is None or event_type(event) in self.event_types


class Listeners:
    """The host's callbacks, called after each commit with the events it wrote.

    Args:
        store: the store whose commits are watched; it must have ``add_listener`` (every store
            of the library has).
    """

    def __init__(self, store: object) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._listeners: tuple[_Listener, ...] = ()
        self._watching = False

    def add(
        self, callback: Callable[[Event], object], event_types: Iterable[str] | None = None
    ) -> RemoveListener:
        """Call ``callback(event)`` for each committed event of the types named (all of them
        when None); returns the function that stops it.

        Raises:
            InvalidInput: a callback that is not callable, a malformed filter
                (:func:`check_event_types`), or a store that tells no listener of its commits.
        """
        if not callable(callback):
            raise InvalidInput(f"a listener is a function of one event, not {callback!r}")
        listener = _Listener(callback, check_event_types(event_types))
        with self._lock:
            if not self._watching:
                watch = getattr(self._store, "add_listener", None)
                if not callable(watch):
                    raise InvalidInput(
                        f"{type(self._store).__name__} tells no listener of its commits (it has "
                        "no add_listener()): read the feed with plans.events() instead"
                    )
                watch(self._committed)
                self._watching = True
            self._listeners += (listener,)

        def remove() -> None:
            with self._lock:
                self._listeners = tuple(x for x in self._listeners if x is not listener)

        return remove

    def clear(self) -> None:
        """Stop every callback (``ResellerPlans.close()``)."""
        with self._lock:
            self._listeners = ()

    def _committed(self, events: list[Event]) -> None:
        listeners = self._listeners  # the ones added when the commit was told
        for event in events:
            for listener in listeners:
                if not listener.wants(event):
                    continue
                try:
                    listener.callback(event)
                except Exception:
                    _log.exception(
                        "a listener of %s raised on %s of %s; the commit stands",
                        ", ".join(sorted(listener.event_types or ("every event",))),
                        event.name,
                        event.subscription_id,
                    )
