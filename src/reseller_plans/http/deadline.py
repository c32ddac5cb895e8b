"""The hard total deadline of one adapter call: every attempt, read and wait inside it.

An adapter call (``BSSClient.place_plan_order``, ``StorefrontClient.activate_storefront``, …)
may send several requests (an order's three writes, a token grant, a read-back). All of them,
their retries and every backoff or ``Retry-After`` wait, run inside one :class:`CallDeadline`
scope, which ends ``RetryPolicy.deadline`` seconds after the call began:

- no wait is started that would end past the deadline (the call gives up instead);
- no attempt is started once the deadline has passed;
- each attempt's connect, write, pool and read timeouts are cut to the time left.

The only way past it is a server that keeps trickling bytes of one response faster than the read
timeout (the read timeout applies per chunk); the margin a lease keeps over the deadline covers
that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType

import httpx

__all__ = ["CallDeadline"]

_FLOOR = 0.001  # httpx reads 0 as "no timeout": a spent budget becomes a tiny one instead

# Where each open scope ends, per deadline. A context variable, not a thread-local: a thread has
# its own context, and so has each asyncio task, so concurrent calls of one async client (all on
# one thread) keep a deadline each. One variable for all deadlines, as the contextvars docs ask.
_UNTIL: ContextVar[Mapping[CallDeadline, float]] = ContextVar("reseller_plans_deadlines")
_NONE_OPEN: Mapping[CallDeadline, float] = MappingProxyType({})


class CallDeadline:
    """Where the current adapter call must have ended, per thread and per asyncio task.

    Args:
        seconds: the budget of one call, all attempts and waits included.
        monotonic: the clock it is measured on (``time.monotonic``; tests pass a fake one that
            their fake ``sleep`` advances).
    """

    def __init__(self, seconds: float, monotonic: Callable[[], float]) -> None:
        self.seconds = seconds
        self._monotonic = monotonic

    def scope(self) -> _Scope:
        """Run a call under the deadline; a scope inside another shares the outer deadline."""
        return _Scope(self)

    def remaining(self) -> float:
        """Seconds left to the current call (the whole budget outside any scope)."""
        until = _UNTIL.get(_NONE_OPEN).get(self)
        if until is None:
            return self.seconds
        return until - self._monotonic()

    def timeout(self, base: httpx.Timeout) -> httpx.Timeout:
        """``base`` with each phase cut to the time left.

        Args:
            base: the configured timeouts.

        Returns:
            The timeouts for the next attempt.
        """
        left = max(self.remaining(), _FLOOR)

        def cut(value: float | None) -> float:
            return left if value is None else min(value, left)

        return httpx.Timeout(connect=cut(base.connect), read=cut(base.read),
                             write=cut(base.write), pool=cut(base.pool))  # fmt: skip

    def _open(self) -> Token[Mapping[CallDeadline, float]] | None:
        open_scopes = _UNTIL.get(_NONE_OPEN)
        if self in open_scopes:
            return None
        return _UNTIL.set({**open_scopes, self: self._monotonic() + self.seconds})


class _Scope:
    """The ``with`` block of :meth:`CallDeadline.scope` (a class: every request enters one, and
    a generator-based context manager costs a few microseconds more)."""

    __slots__ = ("_deadline", "_token")

    def __init__(self, deadline: CallDeadline) -> None:
        self._deadline = deadline
        self._token: Token[Mapping[CallDeadline, float]] | None = None

    def __enter__(self) -> None:
        self._token = self._deadline._open()

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            _UNTIL.reset(self._token)
