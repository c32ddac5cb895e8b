"""Faults the emulator can inject: random errors, latency, rate limiting, scripted failures.

Random errors use their own seeded generator, so a run with the same seed and the same
sequence of requests fails the same requests.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from collections.abc import Callable

import attrs

__all__ = ["FaultInjector", "Faults", "InjectedFault", "RateLimit", "ScriptedFault"]


@attrs.frozen
class RateLimit:
    """At most ``limit`` requests per ``window`` seconds; the excess is answered ``status``.

    Attributes:
        limit: requests allowed per window.
        window: the window in seconds.
        status: 429, or 403 as the BSS documents for "rate limit hit".
        retry_after: the ``Retry-After`` sent, in seconds (None for none).
    """

    limit: int = attrs.field(validator=attrs.validators.ge(1))
    window: float = 1.0
    status: int = attrs.field(default=429, validator=attrs.validators.in_((403, 429)))
    retry_after: float | None = 1.0


@attrs.frozen
class ScriptedFault:
    """A failure answered to the next matching requests.

    Attributes:
        status: the status to answer.
        route: the route template it applies to (``"POST /api/orders"``), or None for any.
        count: how many requests it fails.
        retry_after: a ``Retry-After`` value to send, if any.
        body: the body to send (a JSON object; ``{"message": ...}`` by default), or raw text.
    """

    status: int
    route: str | None = None
    count: int = 1
    retry_after: str | None = None
    body: object = None


@attrs.frozen
class InjectedFault:
    """What the app answers instead of handling a request."""

    status: int
    body: object
    retry_after: str | None = None


@attrs.frozen
class Faults:
    """Fault injection settings of an emulator.

    Attributes:
        error_rate: the share of requests answered ``error_status`` at random (0 to 1).
        error_status: the status of random errors.
        seed: the seed of the random errors.
        latency: seconds added to every request.
        rate_limit: a rate limit, or None.
        routes: route templates subject to random errors and rate limiting (None: all).
    """

    error_rate: float = attrs.field(default=0.0, validator=[attrs.validators.ge(0.0),
                                                            attrs.validators.le(1.0)])  # fmt: skip
    error_status: int = 503
    seed: int = 0
    latency: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    rate_limit: RateLimit | None = None
    routes: frozenset[str] | None = attrs.field(
        default=None, converter=attrs.converters.optional(frozenset)
    )


@attrs.define
class _Pending:
    fault: ScriptedFault
    left: int


class FaultInjector:
    """Decides, request by request, whether to inject a fault (thread-safe).

    Args:
        faults: the settings.
        clock: a monotonic clock in seconds (for the rate limit window).
    """

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)  # noqa: S311 - fault injection, not crypto
        self._clock = clock
        self._hits: collections.deque[float] = collections.deque()
        self._scripted: list[_Pending] = []
        self._lock = threading.Lock()

    def script(self, fault: ScriptedFault) -> None:
        """Queue a scripted failure.

        Args:
            fault: what to answer, to which route, how many times.
        """
        with self._lock:
            self._scripted.append(_Pending(fault, fault.count))

    def clear_scripted(self) -> None:
        """Drop every scripted failure not yet answered."""
        with self._lock:
            self._scripted.clear()

    def decide(self, route: str) -> InjectedFault | None:
        """The fault for this request, if any.

        Args:
            route: the request's route template.

        Returns:
            The answer to give instead of handling the request, or None.
        """
        with self._lock:
            for entry in self._scripted:
                fault = entry.fault
                if fault.route is None or fault.route == route:
                    entry.left -= 1
                    if entry.left <= 0:
                        self._scripted.remove(entry)
                    body = fault.body if fault.body is not None else {
                        "message": f"injected fault ({fault.status})"
                    }  # fmt: skip
                    return InjectedFault(fault.status, body, fault.retry_after)
            faults = self.faults
            if faults.routes is not None and route not in faults.routes:
                return None
            limit = faults.rate_limit
            if limit is not None:
                now = self._clock()
                while self._hits and now - self._hits[0] >= limit.window:
                    self._hits.popleft()
                if len(self._hits) >= limit.limit:
                    retry = None if limit.retry_after is None else f"{limit.retry_after:g}"
                    message = "API rate limit exceeded" if limit.status == 403 else (
                        "Too many requests"
                    )  # fmt: skip
                    return InjectedFault(limit.status, {"message": message}, retry)
                self._hits.append(now)
            if faults.error_rate and self._random.random() < faults.error_rate:
                return InjectedFault(faults.error_status, {"message": "injected random fault"})
        return None
