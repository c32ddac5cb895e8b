"""When a failed HTTP call is tried again, and how long we wait before it.

:class:`RetryPolicy` is the whole decision, as data: how many attempts, the exponential backoff
with jitter, and the cap on a server's ``Retry-After``. Its ``sleep`` (and ``async_sleep``, the
async clients' wait) and ``random`` are injectable, so tests run instantly and deterministically.
:class:`RateLimitDetector` tells a 403 that means "rate limit hit" (the BSS documents 403 for
"forbidden or rate limit hit") from a real refusal.

What is retried (see :mod:`reseller_plans.http.client`): connection errors, timeouts, 429, 500,
502, 503, 504 and a rate-limit 403, and a write (POST/PATCH/DELETE) only when it carries an
``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import math
import random as _random
import time
from collections.abc import Awaitable, Callable, Mapping

import attrs

__all__ = ["RETRYABLE_STATUSES", "RateLimitDetector", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
"""Statuses retried whatever the body says (a 403 only when :class:`RateLimitDetector` says)."""


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{attribute.name} must be a positive number of seconds, got {value!r}")


def _fraction(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """How often and how patiently a call is retried.

    The wait before retry ``n`` (1 for the first retry) is
    ``min(initial_backoff * 2 ** (n - 1), max_backoff) * (1 - jitter * random())``, unless the
    server sent ``Retry-After``: then exactly that, when it is at most ``max_retry_after``; a
    longer ``Retry-After`` is not waited for: the call fails at once with
    ``TransientBackendError`` carrying ``retry_after``.

    ``deadline`` bounds one adapter call as a whole (see :mod:`reseller_plans.http.deadline`):
    every attempt, token grant, read-back and wait. A wait that would end past it is not made;
    the call gives up with the last error instead.

    Attributes:
        max_attempts: attempts in total, the first included (1 disables retries).
        initial_backoff: seconds before the first retry, before jitter.
        max_backoff: the longest backoff, before jitter.
        jitter: fraction of the backoff taken off at random (0 for none, 0.25 by default).
        max_retry_after: the longest ``Retry-After`` we honour, in seconds.
        deadline: the hard total of one adapter call in seconds, all attempts, reads and
            waits included (45 by default). A lease must outlast it.
        sleep: how to wait (``time.sleep``; tests pass a recorder).
        random: a source of floats in [0, 1) for the jitter (``random.random``).
        monotonic: the clock the deadline is measured on (``time.monotonic``; a test whose
            ``sleep`` is fake passes a clock that the fake sleep advances).
        async_sleep: how the async clients wait (``asyncio.sleep``; tests pass a recorder).
    """

    max_attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    initial_backoff: float = attrs.field(default=0.5, validator=_positive)
    max_backoff: float = attrs.field(default=8.0, validator=_positive)
    jitter: float = attrs.field(default=0.25, validator=_fraction)
    max_retry_after: float = attrs.field(default=60.0, validator=_positive)
    deadline: float = attrs.field(default=45.0, validator=_positive)
    sleep: Callable[[float], None] = attrs.field(default=time.sleep, repr=False)
    random: Callable[[], float] = attrs.field(default=_random.random, repr=False)
    monotonic: Callable[[], float] = attrs.field(default=time.monotonic, repr=False)
    async_sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, repr=False)

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` when the server named no time.

        Args:
            retry_number: 1 for the first retry (the second attempt), 2 for the next, …

        Returns:
            The exponential backoff, capped at ``max_backoff``, less its random jitter.
        """
        base = min(self.initial_backoff * 2.0 ** max(retry_number - 1, 0), self.max_backoff)
        return base * (1.0 - self.jitter * self.random())

    def no_retries(self) -> RetryPolicy:
        """This policy with a single attempt.

        Returns:
            A copy with ``max_attempts`` 1.
        """
        return attrs.evolve(self, max_attempts=1)


def parse_retry_after(value: str | None, *, now: dt.datetime) -> float | None:
    """Read a ``Retry-After`` header: delta-seconds or an HTTP-date.

    Args:
        value: the header value, or None when absent.
        now: the current time (aware), to turn an HTTP-date into seconds.

    Returns:
        Seconds to wait (0 or more), or None when absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max((when - now).total_seconds(), 0.0)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)


@attrs.frozen
class RateLimitDetector:
    """Tells a 403 that means "rate limit hit" from a refusal.

    A 403 is a rate limit when its body contains one of ``body_markers`` (case-insensitively),
    or when it carries one of ``retry_after_headers``, or one of ``remaining_headers`` with the
    value ``0``. The platform documents no more of its signal than the status, so every piece
    is configurable.

    Attributes:
        body_markers: lowercase phrases that mark a rate-limit body.
        retry_after_headers: headers whose presence marks a rate limit.
        remaining_headers: headers that say how many calls remain; ``0`` marks a rate limit.
    """

    body_markers: tuple[str, ...] = (
        "rate limit",
        "ratelimit",
        "too many requests",
        "throttl",
        "quota exceeded",
    )
    retry_after_headers: tuple[str, ...] = ("retry-after",)
    remaining_headers: tuple[str, ...] = ("x-ratelimit-remaining", "ratelimit-remaining")

    def __call__(self, headers: Mapping[str, str], body: str) -> bool:
        """Whether a 403 response is a rate limit.

        Args:
            headers: the response headers (case-insensitive mapping, such as ``httpx.Headers``).
            body: the response body as text.

        Returns:
            True for a rate limit, False for a refusal.
        """
        if any(name in headers for name in self.retry_after_headers):
            return True
        for name in self.remaining_headers:
            remaining = headers.get(name)
            if remaining is not None and remaining.strip() == "0":
                return True
        lowered = body.lower()
        return any(marker in lowered for marker in self.body_markers)
