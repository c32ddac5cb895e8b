"""Deliveries over real HTTP on loopback: a receiver that checks every signature with our
verify() and with the standardwebhooks package, driven by the delivery rules on a fake clock.

The feed below is the smallest one the rules need (the real one keeps its records in the
store): render each event once, send what ``sendable`` allows, fold each result in with
``record_attempt``, and move the fake clock to ``next_due`` when nothing is due.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import socket
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx
import pytest

from reseller_plans.http import Timeouts
from reseller_plans.logs import REDACTED
from reseller_plans.testing import FakeClock
from reseller_plans.webhooks import (
    USER_AGENT,
    AttemptOutcome,
    DeadReason,
    DeliveryRecord,
    DeliverySettings,
    DeliveryState,
    Endpoint,
    Ordering,
    WebhookSecret,
    WebhookSender,
    build_request,
    next_due,
    read_response,
    record_attempt,
    redrive,
    render_envelope,
    sendable,
    skip,
)
from webhook_receiver import Answer, Receiver, serve_receiver

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SECRET = WebhookSecret.generate()
FAST = Timeouts(connect=5.0, read=5.0, write=5.0, pool=5.0)


@attrs.define
class Feed:
    """The feed side, as small as these tests need."""

    endpoint: Endpoint
    sender: WebhookSender
    clock: FakeClock
    settings: DeliverySettings = attrs.field(factory=DeliverySettings)
    random: Callable[[], float] = attrs.field(factory=lambda: random.Random(7).random)  # noqa: S311 - jitter
    bodies: dict[str, bytes] = attrs.field(factory=dict)
    records: dict[str, DeliveryRecord] = attrs.field(factory=dict)

    def publish(self, event_id: str, subscription_id: str) -> None:
        data = {"subscription_id": subscription_id, "plan": "standard"}
        self.bodies[event_id] = render_envelope(event_id, "subscription.activated",
                                                self.clock.now(), data)  # fmt: skip
        self.records[event_id] = DeliveryRecord(
            endpoint_id=self.endpoint.id, event_id=event_id, subscription_id=subscription_id,
            sequence=len(self.records) + 1,
        )  # fmt: skip

    def run(self, *, rounds: int = 200) -> None:
        """Send until nothing is due now or later (all delivered, or waiting for an operator)."""
        for _ in range(rounds):
            due = sendable(self.records.values(), self.clock.now(), self.settings)
            for record in due:
                result = self.sender.deliver(self.endpoint, record.event_id,
                                             self.bodies[record.event_id])  # fmt: skip
                self.records[record.event_id] = record_attempt(
                    record, result, self.settings, random=self.random
                )
            if due:
                continue
            wake = next_due(self.records.values(), self.settings)
            if wake is None:
                return
            self.clock.set(wake)
        raise AssertionError("the feed did not settle")

    def state(self, event_id: str) -> DeliveryState:
        return self.records[event_id].state


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[Receiver]:
    with serve_receiver(monkeypatch, [SECRET], clock) as running:
        yield running


@pytest.fixture
def sender(clock: FakeClock) -> Iterator[WebhookSender]:
    with WebhookSender(timeouts=FAST, clock=clock) as running:
        yield running


def feed(receiver: Receiver, sender: WebhookSender, clock: FakeClock, **settings: Any) -> Feed:
    endpoint = Endpoint("crm", receiver.url, SECRET)
    return Feed(endpoint, sender, clock, DeliverySettings(**settings))


# -- one delivery --------------------------------------------------------------------------------


def test_a_delivery_is_a_signed_json_post_that_both_verifiers_accept(
    receiver: Receiver, sender: WebhookSender, clock: FakeClock
) -> None:
    endpoint = Endpoint("crm", receiver.url, SECRET)
    body = render_envelope("evt_1", "subscription.activated", T0, {"subscription_id": "S1"})

    result = sender.deliver(endpoint, "evt_1", body)

    assert (result.outcome, result.status, result.error, result.at) == (
        AttemptOutcome.DELIVERED, 204, None, T0,
    )  # fmt: skip
    assert result.duration > 0
    [seen] = receiver.received
    assert seen.verified
    assert seen.body == body
    assert seen.headers["webhook-id"] == "evt_1"
    assert seen.headers["webhook-timestamp"] == str(int(T0.timestamp()))
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"] == USER_AGENT
    assert seen.ours == {
        "type": "subscription.activated",
        "id": "evt_1",
        "version": 1,
        "timestamp": "2026-03-01T12:00:00Z",
        "data": {"subscription_id": "S1"},
    }


def test_a_delivery_signed_with_another_secret_is_refused_by_both_verifiers(
    receiver: Receiver, sender: WebhookSender
) -> None:
    stranger = Endpoint("crm", receiver.url, WebhookSecret.generate())

    result = sender.deliver(stranger, "evt_1", b"{}")

    assert (result.outcome, result.status) == (AttemptOutcome.FAILED, 400)
    [seen] = receiver.received
    assert isinstance(seen.ours, Exception)
    assert isinstance(seen.library, Exception)


def test_during_a_rotation_a_receiver_with_only_the_old_secret_accepts_over_http(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock, sender: WebhookSender
) -> None:
    new = WebhookSecret.generate()
    with serve_receiver(monkeypatch, [SECRET], clock) as old_receiver:
        endpoint = Endpoint("crm", old_receiver.url, SECRET)
        endpoint = endpoint.rotate(new, at=T0, overlap=dt.timedelta(hours=1))

        during = sender.deliver(endpoint, "evt_1", b"{}")
        clock.advance(dt.timedelta(hours=1))
        after = sender.deliver(endpoint, "evt_2", b"{}")

    assert (during.status, after.status) == (204, 400)
    assert [r.verified for r in old_receiver.received] == [True, False]


# -- failures and recoveries ---------------------------------------------------------------------


def test_a_receiver_that_fails_three_times_then_recovers_gets_every_event_once_in_order(
    receiver: Receiver, sender: WebhookSender, clock: FakeClock
) -> None:
    receiver.answer(Answer(503), Answer(500), Answer(502, body=b"bad gateway"))
    events = feed(receiver, sender, clock)
    for event_id in ("E1", "E2", "E3"):
        events.publish(event_id, "S1")

    events.run()

    assert [r.event_id for r in receiver.accepted()] == ["E1", "E2", "E3"]
    first = [r for r in receiver.received if r.event_id == "E1"]
    assert [r.status for r in first] == [503, 500, 502, 204]
    assert {r.body for r in first} == {events.bodies["E1"]}  # the same bytes every time
    stamps = [int(r.headers["webhook-timestamp"]) for r in first]
    assert stamps == sorted(set(stamps))  # re-signed at each attempt
    assert all(r.verified for r in receiver.received)
    assert [events.records[e].attempts for e in ("E1", "E2", "E3")] == [4, 1, 1]
    assert all(events.state(e) is DeliveryState.DELIVERED for e in ("E1", "E2", "E3"))
    # 5 s, 30 s and 2 min, less their jitter.
    assert dt.timedelta(seconds=116) <= clock.now() - T0 <= dt.timedelta(seconds=155)


def test_a_timeout_is_retried_with_the_same_id_so_a_receiver_may_see_an_event_twice(
    receiver: Receiver, clock: FakeClock
) -> None:
    receiver.answer(Answer(hang=True))
    with WebhookSender(timeouts=Timeouts(connect=2, read=0.2, write=2, pool=2), clock=clock) as s:
        events = feed(receiver, s, clock)
        events.publish("E1", "S1")
        due = sendable(events.records.values(), clock.now(), events.settings)
        first = s.deliver(events.endpoint, "E1", events.bodies["E1"])
        receiver.release.set()
        events.records["E1"] = record_attempt(due[0], first, events.settings, random=half)
        events.run()

    assert (first.outcome, first.status) == (AttemptOutcome.FAILED, None)
    assert first.error == "timed out (ReadTimeout)"
    assert [r.event_id for r in receiver.received] == ["E1", "E1"]  # at least once
    assert all(r.verified for r in receiver.received)
    assert events.state("E1") is DeliveryState.DELIVERED


def half() -> float:
    return 0.5


def test_a_receiver_down_past_the_budget_holds_its_subscription_back_until_a_redrive(
    receiver: Receiver, sender: WebhookSender, clock: FakeClock
) -> None:
    down = {"S1"}
    receiver.policy = lambda p: Answer(503) if p["data"]["subscription_id"] in down else None
    events = feed(receiver, sender, clock)  # the default budget: 15 attempts
    for event_id, subscription in [("E1", "S1"), ("E2", "S1"), ("E3", "S2"), ("E4", "S2")]:
        events.publish(event_id, subscription)

    events.run()

    dead = events.records["E1"]
    assert (dead.state, dead.dead_reason, dead.attempts) == (
        DeliveryState.DEAD, DeadReason.ATTEMPTS, 15,
    )  # fmt: skip
    assert dead.last_result is not None
    assert dead.last_result.status == 503
    assert events.state("E2") is DeliveryState.PENDING  # held back, never sent
    assert "E2" not in {r.event_id for r in receiver.received}
    assert [r.event_id for r in receiver.accepted()] == ["E3", "E4"]  # S2 went on
    assert dt.timedelta(hours=8) < clock.now() - T0 < dt.timedelta(hours=10)

    down.clear()
    clock.advance(dt.timedelta(hours=3))
    events.records["E1"] = redrive(dead, by="ops@disti.example", at=clock.now())
    events.run()

    assert [r.event_id for r in receiver.accepted()] == ["E3", "E4", "E1", "E2"]
    assert events.records["E1"].redriven_by == "ops@disti.example"
    assert all(r.verified for r in receiver.received)  # hours apart, each one fresh


def test_with_skip_ahead_a_dead_letter_lets_the_later_events_through(
    receiver: Receiver, sender: WebhookSender, clock: FakeClock
) -> None:
    receiver.policy = lambda p: Answer(503) if p["id"] == "E1" else None
    events = feed(receiver, sender, clock, max_attempts=2, ordering=Ordering.SKIP_AHEAD)
    events.publish("E1", "S1")
    events.publish("E2", "S1")

    events.run()

    assert (events.state("E1"), events.state("E2")) == (DeliveryState.DEAD, DeliveryState.DELIVERED)
    assert [r.event_id for r in receiver.accepted()] == ["E2"]


def test_an_operator_skip_lets_the_held_back_events_go(
    receiver: Receiver, sender: WebhookSender, clock: FakeClock
) -> None:
    receiver.policy = lambda p: Answer(503) if p["id"] == "E1" else None
    events = feed(receiver, sender, clock, max_attempts=2)
    events.publish("E1", "S1")
    events.publish("E2", "S1")
    events.run()
    assert events.state("E2") is DeliveryState.PENDING

    events.records["E1"] = skip(events.records["E1"], by="ops", at=clock.now())
    events.run()

    assert [r.event_id for r in receiver.accepted()] == ["E2"]


def test_a_410_makes_a_dead_letter_at_once(
    receiver: Receiver, sender: WebhookSender, clock: FakeClock
) -> None:
    receiver.answer(Answer(410))
    events = feed(receiver, sender, clock)
    events.publish("E1", "S1")

    events.run()

    record = events.records["E1"]
    assert (record.state, record.dead_reason, record.attempts) == (
        DeliveryState.DEAD, DeadReason.GONE, 1,
    )  # fmt: skip
    assert record.last_result is not None
    assert record.last_result.error == "HTTP 410 Gone: the endpoint asks never to be called again"


def test_a_retry_after_is_honoured_for_the_next_attempt(
    receiver: Receiver, sender: WebhookSender, clock: FakeClock
) -> None:
    receiver.answer(Answer(429, headers=(("Retry-After", "120"),)))
    events = feed(receiver, sender, clock)
    events.publish("E1", "S1")
    record = events.records["E1"]

    result = sender.deliver(events.endpoint, "E1", events.bodies["E1"])
    record = record_attempt(record, result, events.settings, random=half)

    assert (result.status, result.retry_after) == (429, 120.0)
    assert record.next_attempt_at == T0 + dt.timedelta(seconds=120)


def test_a_redirect_is_not_followed_and_says_so(receiver: Receiver, sender: WebhookSender) -> None:
    receiver.answer(Answer(302, headers=(("Location", "http://127.0.0.1:9/elsewhere"),)))

    result = sender.deliver(Endpoint("crm", receiver.url, SECRET), "evt_1", b"{}")

    assert (result.outcome, result.status) == (AttemptOutcome.FAILED, 302)
    assert result.error is not None
    assert "redirects are not followed" in result.error
    assert len(receiver.received) == 1


def test_the_receivers_answer_is_redacted_of_secrets_in_the_error(
    receiver: Receiver, sender: WebhookSender
) -> None:
    echo = f"wrong key {SECRET.reveal()} and password=hunter2 " + "x" * 400
    receiver.answer(Answer(500, body=echo.encode()))

    result = sender.deliver(Endpoint("crm", receiver.url, SECRET), "evt_1", b"{}")

    assert result.error is not None
    # Other tests of the run register secrets of their own: check ours, not the exact text.
    assert result.error.startswith("HTTP 500: ")
    assert f"key {REDACTED} and password={REDACTED}" in result.error
    assert SECRET.reveal() not in result.error
    assert "hunter2" not in result.error
    assert result.error.endswith("…")
    assert len(result.error) < 240


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_a_failed_attempt_that_keeps_the_urls_token_out(
    sender: WebhookSender, clock: FakeClock
) -> None:
    url = f"http://hook:pass-0001@127.0.0.1:{_closed_port()}/hooks?token=tok-s3cret-0001"
    endpoint = Endpoint("crm", url, SECRET)

    result = sender.deliver(endpoint, "evt_1", b"{}")

    assert (result.outcome, result.status) == (AttemptOutcome.FAILED, None)
    assert result.error is not None
    assert result.error.startswith("connection failed (ConnectError")
    assert "tok-s3cret-0001" not in result.error
    assert "pass-0001" not in result.error


def test_sending_is_logged_at_debug_without_secrets(
    receiver: Receiver, sender: WebhookSender, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="reseller_plans.webhooks"):
        sender.deliver(Endpoint("crm", receiver.url, SECRET), "evt_1", b"{}")

    assert "webhook evt_1 to endpoint crm -> delivered (204" in caplog.text
    assert SECRET.reveal() not in caplog.text


def test_an_injected_client_is_used_and_left_to_its_owner(clock: FakeClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        sender = WebhookSender(http_client=client, clock=clock, user_agent="disti-hooks/1")
        result = sender.deliver(Endpoint("crm", "https://crm.example/in", SECRET), "e1", b"{}")
        sender.close()
        assert not sender.closed
    assert result.delivered
    assert seen[0].headers["user-agent"] == "disti-hooks/1"
    assert repr(sender) == "WebhookSender(user_agent='disti-hooks/1')"


def test_a_sender_made_with_a_transport_owns_its_client_and_closes_it(clock: FakeClock) -> None:
    def broken(_request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer")

    sender = WebhookSender(transport=httpx.MockTransport(broken), clock=clock)
    with sender:
        result = sender.deliver(Endpoint("crm", "https://crm.example/in", SECRET), "e1", b"{}")

    assert sender.closed
    assert result.error == "connection failed (ReadError: connection reset by peer)"


def test_an_http_error_outside_the_transport_is_a_failed_attempt_too(clock: FakeClock) -> None:
    def odd(_request: httpx.Request) -> httpx.Response:
        raise httpx.DecodingError("")

    with WebhookSender(transport=httpx.MockTransport(odd), clock=clock) as sender:
        result = sender.deliver(Endpoint("crm", "https://crm.example/in", SECRET), "e1", b"{}")

    assert (result.outcome, result.error) == (AttemptOutcome.FAILED, "DecodingError")


# -- the pure halves -----------------------------------------------------------------------------


def test_build_request_signs_with_every_secret_valid_at_the_instant() -> None:
    endpoint = Endpoint("crm", "https://crm.example/in", SECRET).rotate(
        WebhookSecret.generate(), at=T0, overlap=dt.timedelta(minutes=10)
    )

    request = build_request(endpoint, "evt_1", b"{}", at=T0)

    assert len(request.headers["webhook-signature"].split()) == 2
    assert (request.endpoint_id, request.event_id, request.at) == ("crm", "evt_1", T0)
    assert "crm.example" not in repr(request)
    with pytest.raises(ValueError, match="body is bytes"):
        build_request(endpoint, "evt_1", "{}", at=T0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "outcome", "error"),
    [
        (200, AttemptOutcome.DELIVERED, None),
        (299, AttemptOutcome.DELIVERED, None),
        (410, AttemptOutcome.GONE, "HTTP 410 Gone: the endpoint asks never to be called again: "
                                   "no such hook"),
        (404, AttemptOutcome.FAILED, "HTTP 404: no such hook"),
        (500, AttemptOutcome.FAILED, "HTTP 500: no such hook"),
        (301, AttemptOutcome.FAILED, "HTTP 301 (redirects are not followed: point the endpoint "
                                     "at the final URL): no such hook"),
    ],
)  # fmt: skip
def test_read_response_classifies_the_status(
    status: int, outcome: AttemptOutcome, error: str | None
) -> None:
    result = read_response(status, {}, b"  no such\n hook ", at=T0, duration=0.25)

    assert (result.outcome, result.status, result.error, result.duration) == (
        outcome, status, error, 0.25,
    )  # fmt: skip


def test_read_response_reads_a_retry_after_date_and_leaves_an_empty_body_out() -> None:
    later = "Sun, 01 Mar 2026 12:05:00 GMT"

    result = read_response(503, {"Retry-After": later}, "", at=T0, duration=0.0)

    assert (result.error, result.retry_after) == ("HTTP 503", 300.0)


class _BrokenBody(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b"partly"
        raise httpx.ReadError("connection reset while reading the body")


def test_an_answer_whose_body_breaks_off_still_counts_by_its_status(clock: FakeClock) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_BrokenBody())

    with WebhookSender(transport=httpx.MockTransport(handler), clock=clock) as sender:
        result = sender.deliver(Endpoint("crm", "https://crm.example/in", SECRET), "e1", b"{}")

    assert (result.outcome, result.status) == (AttemptOutcome.DELIVERED, 200)
