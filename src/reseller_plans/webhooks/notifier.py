"""``WebhookNotifier``: the store's feed delivered to the host's endpoints, from ``run_due``.

Each pass does two things, for each endpoint:

1. **Ingest.** It reads the feed after the endpoint's cursor and, in the same unit of work,
   adds a delivery for each event the endpoint wants (its body rendered once) and moves the
   cursor on: compare-and-set, so that two notifiers over one store never ingest an event twice.
2. **Send.** It asks the domain which deliveries may go now (``sendable``: in feed order per
   subscription and endpoint, one at a time; a dead letter holds back the later ones by
   default), claims each for one attempt, sends it signed, and records the outcome under the
   claim (``record_attempt``: delivered, retried after a backoff, or a dead letter).

A claim lasts ``claim_for``; its generation is a fencing token. A notifier that dies mid-attempt
leaves its claim to run out, and the next pass sends the delivery again with the same
``webhook-id``: at least once. One that stalls past its claim cannot record its outcome over
the next claimant's. ``claim_for`` must outlast the sender's ``deadline``, the longest an attempt
takes however slowly the receiver answers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random as random_module
import uuid
from collections.abc import Callable, Iterable
from typing import cast

import attrs

from reseller_plans.delivery_log import DeliveryLog, FeedCursor, StoredDelivery
from reseller_plans.domain.deliveries import (
    AttemptOutcome,
    AttemptResult,
    DeliveryRecord,
    DeliverySettings,
    DeliveryState,
    Ordering,
    record_attempt,
)
from reseller_plans.domain.delivery_order import sendable
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.feed import FeedEvent
from reseller_plans.logs import get_logger, redact
from reseller_plans.ports import Clock, Store, SystemClock, UnitOfWork
from reseller_plans.webhooks.endpoints import Endpoint
from reseller_plans.webhooks.envelope import envelope_of
from reseller_plans.webhooks.sender import WebhookSender

__all__ = ["DEFAULT_CLAIM", "WebhookNotifier", "WebhookTally"]

DEFAULT_CLAIM = dt.timedelta(minutes=2)
"""How long one attempt's claim lasts: well over the sender's deadline (30 s)."""

_log = get_logger("webhooks")
_BATCH = 500
_MAX_PASSES = 10_000  # a guard: each pass delivers something, or the run ends


@attrs.frozen
class WebhookTally:
    """What one pass of the notifier did.

    Attributes:
        ingested: deliveries added from the feed.
        delivered: attempts the receivers answered 2xx.
        retrying: attempts that failed and will be made again after their backoff.
        dead: deliveries that became dead letters (budget spent, or 410 Gone).
        elsewhere: deliveries another notifier was sending, or whose claim ran out under the
            attempt (its outcome is then the next claimant's to record).
    """

    ingested: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    elsewhere: int = 0

    def __add__(self, other: WebhookTally) -> WebhookTally:
        return WebhookTally(*(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other),
                                                     strict=True)))  # fmt: skip


@attrs.define
class _Run:
    """What one ``deliver_due`` call remembers between its passes."""

    tried: set[tuple[str, str]] = attrs.Factory(set)
    """The deliveries attempted (or found claimed): at most once a call."""
    failures: dict[str, int] = attrs.Factory(dict)
    """Failed attempts in a row, per endpoint."""
    paused: set[str] = attrs.Factory(set)
    """The endpoints no longer sent to in this call."""


def _log_of(uow: UnitOfWork) -> DeliveryLog:
    """The unit of work as the delivery log it also is (``check_store`` made sure)."""
    return cast(DeliveryLog, uow)


def _delivery(endpoint: Endpoint, feed_event: FeedEvent, sequence: int) -> StoredDelivery:
    """A new delivery of one feed event to one endpoint, its body rendered."""
    sid = feed_event.event.subscription_id
    record = DeliveryRecord(endpoint.id, feed_event.id, sid, sequence)
    return StoredDelivery(record, envelope_of(feed_event))


def _endpoints(value: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
    if isinstance(value, Endpoint):
        return (value,)
    endpoints = tuple(value)
    for endpoint in endpoints:
        if not isinstance(endpoint, Endpoint):
            raise InvalidInput(f"endpoints holds Endpoint values, not {type(endpoint).__name__}")
    ids = [e.id for e in endpoints]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise InvalidInput(f"two endpoints have the id {twice[0]!r}: an id names one endpoint")
    return endpoints


class WebhookNotifier:
    """Delivers the store's feed to endpoints: give it to ``ResellerPlans(webhooks=...)``, whose
    ``run_due`` then runs it, or call :meth:`deliver_due` from a worker of your own.

    Args:
        endpoints: the receivers, each with its URL, secrets and event types; ids unique.
        settings: the backoff, the budget and the ordering (``DeliverySettings()``).
        sender: makes the attempts (a ``WebhookSender()`` of our own, closed by :meth:`close`).
        clock: where the instants of attempts and claims come from (real time by default;
            ``ResellerPlans`` passes its own).
        claim_for: how long one attempt's claim lasts.
        random: the jitter's source of floats in [0, 1).
        pause_after: after this many failed attempts in a row to one endpoint, a pass stops
            sending to it (the rest stays due, its budget untouched, for the next pass): a
            receiver that hangs costs a pass a few timeouts, not one per subscription. None
            for no pause.

    Raises:
        InvalidInput: no endpoints, two with one id, something that is not an ``Endpoint``, or
            a ``claim_for`` that is not a positive ``timedelta`` longer than the sender's
            ``deadline``, or a ``pause_after`` below 1.
    """

    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        *,
        settings: DeliverySettings | None = None,
        sender: WebhookSender | None = None,
        clock: Clock | None = None,
        claim_for: dt.timedelta = DEFAULT_CLAIM,
        random: Callable[[], float] = random_module.random,
        pause_after: int | None = 5,
    ) -> None:
        self.endpoints = _endpoints(endpoints)
        if not self.endpoints:
            raise InvalidInput("a WebhookNotifier needs at least one endpoint")
        if not isinstance(claim_for, dt.timedelta) or claim_for <= dt.timedelta(0):
            raise InvalidInput(f"claim_for must be a positive timedelta, not {claim_for!r}")
        if pause_after is not None and (
            isinstance(pause_after, bool) or not isinstance(pause_after, int) or pause_after < 1
        ):
            raise InvalidInput(f"pause_after must be 1 or more (or None), not {pause_after!r}")
        self.pause_after = pause_after
        self.settings = settings or DeliverySettings()
        self.claim_for = claim_for
        self._owns_sender = sender is None
        self.sender = sender or WebhookSender()
        longest = getattr(self.sender, "deadline", None)
        if isinstance(longest, int | float) and claim_for.total_seconds() <= longest:
            raise InvalidInput(
                f"claim_for ({claim_for}) must outlast the sender's deadline ({longest:g} s): "
                "an attempt could outlive its claim, and another notifier send it at once"
            )
        self._clock = clock or SystemClock()
        self._random = random
        self._prefix = f"webhooks-{uuid.uuid4().hex[:12]}"
        self._calls = itertools.count(1)

    def __repr__(self) -> str:
        ids = ", ".join(e.id for e in self.endpoints)
        return f"WebhookNotifier(endpoints=[{ids}])"

    def close(self) -> None:
        """Close the sender, if it is ours."""
        if self._owns_sender:
            self.sender.close()

    def __enter__(self) -> WebhookNotifier:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def deliver_due(self, store: Store, *, clock: Clock | None = None) -> WebhookTally:
        """Ingest the feed's new events and send every delivery that may go now, until none
        may: safe to call from several processes at once.

        Args:
            store: a store whose units of work keep the ``DeliveryLog``.
            clock: where time comes from for this pass (the notifier's by default).

        Returns:
            What it did.
        """
        clock = clock or self._clock
        tally = WebhookTally()
        for endpoint in self.endpoints:
            tally += self._ingest(store, endpoint)
        run = _Run()
        for _ in range(_MAX_PASSES):
            done = WebhookTally()
            for endpoint in self.endpoints:
                done += self._send_due(store, endpoint, clock, run)
            tally += done
            if done == WebhookTally():
                break
        return tally

    def _ingest(self, store: Store, endpoint: Endpoint) -> WebhookTally:
        added = 0
        for _ in range(_MAX_PASSES):
            with store.unit_of_work() as uow:
                log = _log_of(uow)
                was = log.feed_cursor(endpoint.id)
                events = uow.events_after(was.position, _BATCH)
                if not events:
                    break
                deliveries = [
                    _delivery(endpoint, fe, was.ingested + n)
                    for n, fe in enumerate(events, start=1)
                    if endpoint.accepts(fe.type)
                ]
                now = FeedCursor(events[-1].position, was.ingested + len(events))
                moved = log.ingest_deliveries(endpoint.id, deliveries, was=was, now=now)
            if moved:
                added += len(deliveries)
            if moved and len(events) < _BATCH:
                break
        return WebhookTally(ingested=added)

    def _send_due(self, store: Store, endpoint: Endpoint, clock: Clock, run: _Run) -> WebhookTally:
        if endpoint.id in run.paused:
            return WebhookTally()
        now = clock.now()
        hold_back = self.settings.ordering is Ordering.HOLD_BACK
        with store.unit_of_work() as uow:
            heads = _log_of(uow).next_deliveries(
                endpoint.id, now=now, hold_back=hold_back, limit=_BATCH
            )
        by_key = {s.key: s for s in heads}
        chosen = sendable([s.record for s in heads], now, self.settings)  # the domain's rule
        picks = [by_key[r.endpoint_id, r.event_id] for r in chosen]
        tally = WebhookTally()
        for stored in (s for s in picks if s.key not in run.tried):
            run.tried.add(stored.key)
            done = self._attempt(store, endpoint, stored, clock)
            tally += done
            if self._pause(endpoint, done, run):
                break
        return tally

    def _pause(self, endpoint: Endpoint, done: WebhookTally, run: _Run) -> bool:
        """Count the endpoint's failures in a row; True when it is paused for this pass."""
        if done.delivered:
            run.failures[endpoint.id] = 0
        elif done.retrying or done.dead:
            run.failures[endpoint.id] = run.failures.get(endpoint.id, 0) + 1
        if self.pause_after is None or run.failures.get(endpoint.id, 0) < self.pause_after:
            return False
        run.paused.add(endpoint.id)
        _log.warning(
            "webhook endpoint %s failed %d times in a row: paused until the next pass",
            endpoint.id, self.pause_after,
        )  # fmt: skip
        return True

    def _attempt(
        self, store: Store, endpoint: Endpoint, stored: StoredDelivery, clock: Clock
    ) -> WebhookTally:
        now = clock.now()
        owner = f"{self._prefix}-{next(self._calls)}"
        with store.unit_of_work() as uow:
            claimed = _log_of(uow).claim_delivery(
                endpoint.id, stored.record.event_id, owner, now=now, until=now + self.claim_for
            )
        if claimed is None:
            return WebhookTally(elsewhere=1)
        try:
            at = clock.now()
            result = self.sender.deliver(endpoint, claimed.record.event_id, claimed.body, at=at)
        except Exception as exc:  # a bug of a sender of the host's own: noted, backed off
            _log.exception("webhook %s: the sender raised", claimed.record.describe())
            error = redact(f"the sender raised {type(exc).__name__}: {exc}"[:300])
            result = AttemptResult(AttemptOutcome.FAILED, clock.now(), error=error)
        except BaseException:
            # Going down mid-attempt (it may have left): end the claim, so that the delivery
            # goes again at once, with the same id, rather than when the claim runs out.
            with store.unit_of_work() as uow:
                _log_of(uow).finish_delivery(claimed, claimed.record)
            raise
        try:
            record = record_attempt(claimed.record, result, self.settings, random=self._random)
        except BaseException:  # a bug: end the claim rather than leave it to run out
            with store.unit_of_work() as uow:
                _log_of(uow).finish_delivery(claimed, claimed.record)
            raise
        with store.unit_of_work() as uow:
            finished = _log_of(uow).finish_delivery(claimed, record)
        if not finished:
            return WebhookTally(elsewhere=1)
        if record.state is DeliveryState.DELIVERED:
            return WebhookTally(delivered=1)
        if record.state is DeliveryState.DEAD:
            reason = record.dead_reason.value if record.dead_reason else "?"
            _log.warning(
                "webhook %s is a dead letter (%s) after %d attempts: %s",
                record.describe(), reason, record.attempts, result.error,
            )  # fmt: skip
            return WebhookTally(dead=1)
        return WebhookTally(retrying=1)
