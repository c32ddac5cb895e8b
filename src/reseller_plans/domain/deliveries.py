"""Webhook deliveries, sans-IO: when to try again, when to give up, and what may go now.

A *delivery* is one event of the feed on its way to one endpoint. Its record
(:class:`DeliveryRecord`) says how often it was tried, when first, what the last attempt
answered and when the next one is due. The sender makes an attempt and hands back an
:class:`AttemptResult`; :func:`record_attempt` folds it in:

- a 2xx: delivered;
- a 410 Gone: the endpoint says it is gone for good: a dead letter at once
  (``DeadReason.GONE``), and the host should disable the endpoint;
- anything else (another status, a timeout, a refused connection): tried again after the next
  wait of the backoff schedule less a random jitter, or after the receiver's ``Retry-After``
  when that is longer (up to a cap); once the budget is spent (``max_attempts`` attempts, or a
  next attempt later than ``max_age`` after the first one), a dead letter.

A dead letter waits for an operator: :func:`redrive` sends it again on a fresh budget and
records who asked and when; :func:`skip` gives it up.

**Order** (which deliveries may go now) is :mod:`reseller_plans.domain.delivery_order`.

Nothing here reads a clock or draws a random number: the caller passes the instants and its
``random``.

>>> settings = DeliverySettings(jitter=0)
>>> [str(retry_delay(n, settings, random=lambda: 0.5)) for n in range(1, 9)]
['0:00:05', '0:00:30', '0:02:00', '0:10:00', '0:30:00', '1:00:00', '1:00:00', '1:00:00']
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.text import storable_text

__all__ = [
    "DEFAULT_BACKOFF",
    "AttemptOutcome",
    "AttemptResult",
    "DeadReason",
    "DeliveryRecord",
    "DeliverySettings",
    "DeliveryState",
    "Ordering",
    "record_attempt",
    "redrive",
    "retry_delay",
    "skip",
]

DEFAULT_BACKOFF: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=5),
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=1),
)
"""The waits before the first, second, … retry; every later retry waits the last one."""


class AttemptOutcome(enum.Enum):
    """What one attempt to deliver came to."""

    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    FAILED = "failed"
    """Another status, a timeout or a connection that failed: worth another attempt."""
    GONE = "gone"
    """The receiver answered 410 Gone: the endpoint is no more."""


class DeliveryState(enum.Enum):
    """Where a delivery stands."""

    PENDING = "pending"
    """Waiting for its first or next attempt (and for the events before it)."""
    DELIVERED = "delivered"
    """The receiver has it."""
    DEAD = "dead"
    """A dead letter: its budget is spent or the endpoint is gone; waits for an operator."""
    SKIPPED = "skipped"
    """Given up by an operator."""


class DeadReason(enum.Enum):
    """Why a delivery became a dead letter."""

    ATTEMPTS = "attempts"
    """``max_attempts`` attempts failed."""
    AGE = "age"
    """The next attempt would come later than ``max_age`` after the first."""
    GONE = "gone"
    """The receiver answered 410 Gone."""


class Ordering(enum.Enum):
    """What a dead letter does to the later events of its subscription, for its endpoint."""

    HOLD_BACK = "hold_back"
    """They wait until it is redriven and delivered, or skipped (the default): the receiver
    never sees a subscription's events out of order."""
    SKIP_AHEAD = "skip_ahead"
    """They go on without it; if it is redriven later, it arrives after them."""


def _aware(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidInput(f"{attribute.name} must be a timezone-aware datetime, not {value!r}")


def _text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{attribute.name} must be non-empty text, not {value!r}")
    storable_text(value, attribute.name)


def _count(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{attribute.name} must be a whole number, 0 or more, not {value!r}")


@attrs.frozen
class AttemptResult:
    """One attempt to deliver, as the sender saw it.

    Attributes:
        outcome: delivered, failed (retryable) or gone.
        at: when the attempt was made (the instant it was signed).
        status: the receiver's HTTP status, None when no answer came.
        error: what went wrong, short and with secrets redacted; None when delivered.
        duration: seconds from sending to the end of the answer (or the failure).
        retry_after: seconds the receiver asked us to wait (``Retry-After``), if it said.
    """

    outcome: AttemptOutcome
    at: dt.datetime = attrs.field(validator=_aware)
    status: int | None = None
    error: str | None = None
    duration: float = 0.0
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        """True when the receiver answered 2xx."""
        return self.outcome is AttemptOutcome.DELIVERED


def _waits(value: Iterable[dt.timedelta]) -> tuple[dt.timedelta, ...]:
    waits = tuple(value)
    if not waits:
        raise InvalidInput("backoff needs at least one wait")
    for wait in waits:
        if not isinstance(wait, dt.timedelta) or wait <= dt.timedelta(0):
            raise InvalidInput(f"every backoff wait must be a positive timedelta, not {wait!r}")
    if list(waits) != sorted(waits):
        raise InvalidInput("backoff waits must not get shorter")
    return waits


def _fraction(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInput(f"{attribute.name} must be between 0 and 1, not {value!r}")


def _positive_attempts(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{attribute.name} must be a whole number, 1 or more, not {value!r}")


def _optional_span(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _positive_span(_instance, attribute, value)


def _positive_span(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        raise InvalidInput(f"{attribute.name} must be a positive timedelta, not {value!r}")


def _ordering(value: Ordering | str) -> Ordering:
    if isinstance(value, Ordering):
        return value
    for member in Ordering:
        if isinstance(value, str) and value.strip().lower() == member.value:
            return member
    names = ", ".join(repr(member.value) for member in Ordering)
    raise InvalidInput(f"ordering must be an Ordering or one of {names}, not {value!r}")


@attrs.frozen
class DeliverySettings:
    """How patiently deliveries are retried, and what a dead letter holds back.

    The wait before retry ``n`` (1 after the first failed attempt) is ``backoff[n - 1]`` (the
    last wait for every retry beyond the schedule), less up to ``jitter`` of it at random, so
    that endpoints that failed together are not all tried again at the same instant. When the
    receiver sent ``Retry-After`` and asked for longer, its wait is taken instead, up to
    ``max_retry_after``.

    A delivery is a dead letter once ``max_attempts`` attempts failed, or when its next attempt
    would come later than ``max_age`` after its first one: whichever comes first. Either may be
    None (no such limit), not both. With the defaults a receiver that never answers is tried 15
    times over 8 to 10 hours (the jitter decides) before its delivery is dead-lettered.

    Attributes:
        backoff: the waits before the first, second, … retry; they must not get shorter.
        jitter: the fraction of a wait taken off at random (0 for none).
        max_attempts: attempts in all, the first included, before a dead letter.
        max_age: the longest time from the first attempt to the last one.
        max_retry_after: the longest ``Retry-After`` honoured.
        ordering: what a dead letter does to the later events of its subscription
            (``Ordering.HOLD_BACK`` or ``Ordering.SKIP_AHEAD``; also their values as text).

    Raises:
        InvalidInput: a setting out of its range, or no budget at all.
    """

    backoff: tuple[dt.timedelta, ...] = attrs.field(default=DEFAULT_BACKOFF, converter=_waits)
    jitter: float = attrs.field(default=0.25, validator=_fraction)
    max_attempts: int | None = attrs.field(default=15, validator=_positive_attempts)
    max_age: dt.timedelta | None = attrs.field(
        default=dt.timedelta(days=1), validator=_optional_span
    )
    max_retry_after: dt.timedelta = attrs.field(
        default=dt.timedelta(hours=1), validator=_positive_span
    )
    ordering: Ordering = attrs.field(default=Ordering.HOLD_BACK, converter=_ordering)

    def __attrs_post_init__(self) -> None:
        if self.max_attempts is None and self.max_age is None:
            raise InvalidInput("a delivery needs a budget: set max_attempts, max_age or both")


def retry_delay(
    attempts: int,
    settings: DeliverySettings,
    *,
    random: Callable[[], float],
    retry_after: float | None = None,
) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt before the next one.

    Args:
        attempts: failed attempts so far, 1 or more.
        settings: the backoff schedule, its jitter and the cap on ``Retry-After``.
        random: a source of floats in [0, 1) for the jitter (``random.random``).
        retry_after: seconds the receiver asked to wait, if it said.

    Returns:
        The wait.

    Raises:
        InvalidInput: ``attempts`` is below 1, or ``random`` gave a number outside [0, 1].
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise InvalidInput(f"attempts must be 1 or more, not {attempts!r}")
    draw = random()
    if not 0 <= draw <= 1:
        raise InvalidInput(f"random() must give a number in [0, 1), it gave {draw!r}")
    wait = settings.backoff[min(attempts, len(settings.backoff)) - 1]
    wait = wait * (1.0 - settings.jitter * draw)
    if retry_after is not None and retry_after > 0:
        # Capped in seconds first: a receiver's 1e15 is no timedelta at all.
        capped = min(retry_after, settings.max_retry_after.total_seconds())
        wait = max(wait, dt.timedelta(seconds=capped))
    return wait


@attrs.frozen
class DeliveryRecord:
    """One event on its way to one endpoint: what the feed keeps per (endpoint, event).

    A new delivery is ``DeliveryRecord(endpoint_id=..., event_id=..., subscription_id=...,
    sequence=...)``: pending, never tried, due at once (as soon as the events before it are
    delivered).

    Attributes:
        endpoint_id: the endpoint's id.
        event_id: the event's stable id (the ``webhook-id`` of every attempt).
        subscription_id: the subscription the event belongs to; order is kept per
            subscription.
        sequence: the event's position in the feed; a later event has a greater one.
        state: pending, delivered, dead or skipped.
        attempts: attempts made since the delivery was created or last redriven.
        first_attempt_at: when the first of those attempts was made.
        next_attempt_at: when the next attempt is due (None: at once).
        last_result: the last attempt's result (kept across a redrive).
        dead_reason: why it is a dead letter, while it is one.
        redrives: how often an operator redrove it.
        redriven_by: who asked for the last redrive (an actor, as text).
        redriven_at: when.
        skipped_by: who skipped it.
        skipped_at: when.
    """

    endpoint_id: str = attrs.field(validator=_text)
    event_id: str = attrs.field(validator=_text)
    subscription_id: str = attrs.field(validator=_text)
    sequence: int = attrs.field(validator=_count)
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = attrs.field(default=0, validator=_count)
    first_attempt_at: dt.datetime | None = attrs.field(default=None, validator=_aware)
    next_attempt_at: dt.datetime | None = attrs.field(default=None, validator=_aware)
    last_result: AttemptResult | None = None
    dead_reason: DeadReason | None = None
    redrives: int = attrs.field(default=0, validator=_count)
    redriven_by: str | None = None
    redriven_at: dt.datetime | None = attrs.field(default=None, validator=_aware)
    skipped_by: str | None = None
    skipped_at: dt.datetime | None = attrs.field(default=None, validator=_aware)

    def is_due(self, now: dt.datetime) -> bool:
        """Whether its own next attempt is due at ``now`` (:func:`sendable` also minds the
        events before it).

        Args:
            now: the current instant.

        Returns:
            True for a pending delivery whose next attempt is due.
        """
        if self.state is not DeliveryState.PENDING:
            return False
        return self.next_attempt_at is None or self.next_attempt_at <= now

    def describe(self) -> str:
        """The delivery in words, for messages: ``"event E-1 to endpoint crm"``."""
        return f"event {self.event_id} to endpoint {self.endpoint_id}"


def record_attempt(
    record: DeliveryRecord,
    result: AttemptResult,
    settings: DeliverySettings,
    *,
    random: Callable[[], float],
) -> DeliveryRecord:
    """Fold one attempt's result into its delivery: delivered, the next attempt, or dead.

    A result that arrives for a delivery that is no longer pending (delivered meanwhile,
    dead-lettered or skipped by an operator) changes nothing, unless it says delivered: the
    receiver has the event, so the delivery is delivered.

    Args:
        record: the delivery as it stood before the attempt.
        result: what the attempt came to (its ``at`` is when it was made).
        settings: the backoff and the budget.
        random: a source of floats in [0, 1) for the jitter (``random.random``).

    Returns:
        The delivery after the attempt.
    """
    if record.state is DeliveryState.DELIVERED:
        return record
    if record.state is not DeliveryState.PENDING and not result.delivered:
        return record
    attempts = record.attempts + 1
    first = record.first_attempt_at or result.at
    tried = attrs.evolve(record, attempts=attempts, first_attempt_at=first, last_result=result)
    if result.delivered:
        return attrs.evolve(tried, state=DeliveryState.DELIVERED, next_attempt_at=None,
                            dead_reason=None)  # fmt: skip
    if result.outcome is AttemptOutcome.GONE:
        return _dead(tried, DeadReason.GONE)
    if settings.max_attempts is not None and attempts >= settings.max_attempts:
        return _dead(tried, DeadReason.ATTEMPTS)
    when = result.at + retry_delay(
        attempts, settings, random=random, retry_after=result.retry_after
    )
    if settings.max_age is not None and when - first > settings.max_age:
        return _dead(tried, DeadReason.AGE)
    return attrs.evolve(tried, next_attempt_at=when)


def _dead(record: DeliveryRecord, reason: DeadReason) -> DeliveryRecord:
    return attrs.evolve(record, state=DeliveryState.DEAD, next_attempt_at=None,
                        dead_reason=reason)  # fmt: skip


def _operator(by: object, at: object) -> tuple[str, dt.datetime]:
    if not isinstance(by, str) or not by.strip():
        raise InvalidInput(f"by must name who asks (an actor, as text), not {by!r}")
    storable_text(by, "by")
    if not isinstance(at, dt.datetime) or at.utcoffset() is None:
        raise InvalidInput(f"at must be a timezone-aware datetime, not {at!r}")
    return by, at


def redrive(record: DeliveryRecord, *, by: str, at: dt.datetime) -> DeliveryRecord:
    """Send a dead (or skipped) delivery again, at once, on a fresh budget.

    The attempts start again from 0; the last result is kept; the event keeps its id, so the
    receiver can tell it from a new one.

    Args:
        record: the dead letter.
        by: who asks (an operator or actor, as text); recorded.
        at: when they ask; recorded, and the next attempt is due then.

    Returns:
        The delivery, pending.

    Raises:
        InvalidInput: it is pending or delivered, or ``by`` or ``at`` is not what they must be.
    """
    by, at = _operator(by, at)
    if record.state not in (DeliveryState.DEAD, DeliveryState.SKIPPED):
        raise InvalidInput(
            f"{record.describe()} is {record.state.value}: only a dead or skipped delivery "
            "can be redriven"
        )
    return attrs.evolve(
        record, state=DeliveryState.PENDING, attempts=0, first_attempt_at=None,
        next_attempt_at=at, dead_reason=None, redrives=record.redrives + 1, redriven_by=by,
        redriven_at=at, skipped_by=None, skipped_at=None,
    )  # fmt: skip


def skip(record: DeliveryRecord, *, by: str, at: dt.datetime) -> DeliveryRecord:
    """Give a dead (or pending) delivery up: the events after it go on.

    Args:
        record: the delivery.
        by: who asks (an operator or actor, as text); recorded.
        at: when they ask; recorded.

    Returns:
        The delivery, skipped.

    Raises:
        InvalidInput: it is delivered or skipped already, or ``by`` or ``at`` is not what they
            must be.
    """
    by, at = _operator(by, at)
    if record.state not in (DeliveryState.DEAD, DeliveryState.PENDING):
        raise InvalidInput(
            f"{record.describe()} is {record.state.value}: only a dead or pending delivery "
            "can be skipped"
        )
    return attrs.evolve(record, state=DeliveryState.SKIPPED, next_attempt_at=None,
                        skipped_by=by, skipped_at=at)  # fmt: skip
