"""Webhooks against receivers and settings that misbehave: a huge ``Retry-After``, an answer
dripped a byte at a time, a URL with credentials echoed back, a host name that cannot be, a
claim shorter than an attempt."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from reseller_plans import Plan
from reseller_plans.config import WebhookSetting
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.logs import Secret
from reseller_plans.webhooks import (
    AttemptOutcome,
    DeliverySettings,
    DeliveryState,
    Endpoint,
    WebhookNotifier,
    WebhookSecret,
    WebhookSender,
    retry_delay,
)
from webhook_world import LoopbackReceiver, webhook_world

AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


class RawReceiver:
    """A loopback server that answers each connection with ``answer(connection)``."""

    def __init__(self, answer: object) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.answer = answer
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/hooks"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                with contextlib.suppress(OSError):  # the client gave up: fine
                    self.answer(connection)  # type: ignore[operator]

    def close(self) -> None:
        self.server.close()


def _drip(connection: socket.socket) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(200):  # a header byte every 0.1 s: no read ever waits a whole timeout
        connection.sendall(b"X")
        time.sleep(0.1)


@pytest.fixture
def dripping() -> Iterator[RawReceiver]:
    receiver = RawReceiver(_drip)
    yield receiver
    receiver.close()


def test_a_huge_retry_after_is_capped_not_a_crash() -> None:
    settings = DeliverySettings()
    for asked in (1e15, 1e300, float(2**62)):
        wait = retry_delay(1, settings, random=lambda: 0.0, retry_after=asked)
        assert wait == settings.max_retry_after


def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_deadline(
    dripping: RawReceiver,
) -> None:
    endpoint = Endpoint("slow", dripping.url, WebhookSecret.generate())
    with WebhookSender(deadline=1.0) as sender:
        started = time.monotonic()
        result = sender.deliver(endpoint, "evt_1", b"{}", at=AT)
        took = time.monotonic() - started

    assert result.outcome is AttemptOutcome.FAILED
    assert "timed out" in (result.error or "")
    assert took < 5  # not the 20 s the receiver would take, nor its 15 s read timeouts


def test_a_notifier_over_a_dripping_receiver_keeps_its_claim_and_fails_the_attempt(
    dripping: RawReceiver,
) -> None:
    endpoint = Endpoint("slow", dripping.url, WebhookSecret.generate())
    notifier = WebhookNotifier(
        [endpoint], sender=WebhookSender(deadline=1.0), claim_for=dt.timedelta(seconds=3)
    )
    world, _ = webhook_world([endpoint])
    world.plans = type(world.plans)(
        bss=world.bss, storefront=world.storefront, mailer=world.mailer, store=world.store,
        clock=world.clock, webhooks=notifier,
    )  # fmt: skip
    world.plans.upgrade("3542", Plan.FREE, alias="slow", actor=world.disti)

    report = world.plans.run_due()

    assert report.webhooks_retrying == 1
    (first,) = [d for d in world.plans.webhook_deliveries() if d.attempts]
    assert (first.state, first.last_result.outcome) == (
        DeliveryState.PENDING,
        AttemptOutcome.FAILED,
    )
    notifier.close()


def test_a_claim_must_outlast_the_senders_deadline() -> None:
    endpoint = Endpoint("crm", "https://crm.example/hooks", WebhookSecret.generate())
    with pytest.raises(InvalidInput, match="must outlast the sender's deadline"):
        WebhookNotifier([endpoint], claim_for=dt.timedelta(seconds=30))
    with pytest.raises(InvalidInput, match="deadline must be positive"):
        WebhookSender(deadline=0)


def test_a_host_name_that_cannot_be_is_refused_and_never_raises_when_sent() -> None:
    secret = WebhookSecret.generate()
    for url in ("https://crm..example/hook", f"https://{'a' * 64}.example/hook"):
        with pytest.raises(InvalidInput, match="no valid host"):
            Endpoint("crm", url, secret)


def test_credentials_in_a_url_never_show_in_settings_or_echoed_errors() -> None:
    url = "http://user:hunter2@127.0.0.1:{port}/hooks?token=SUPERSECRET"
    setting = WebhookSetting("crm", url.format(port=1), Secret("whsec_fake"))
    assert "hunter2" not in repr(setting)
    assert "SUPERSECRET" not in repr(setting)

    echo = RawReceiver(lambda c: c.sendall(
        b"HTTP/1.1 503 Busy\r\ncontent-length: 70\r\n\r\n"
        b"busy: you called /hooks?token=SUPERSECRET as user:hunter2, try later..."
    ))  # fmt: skip
    try:
        port = echo.server.getsockname()[1]
        endpoint = Endpoint("crm", url.format(port=port), WebhookSecret.generate())
        with WebhookSender() as sender:
            result = sender.deliver(endpoint, "evt_1", b"{}", at=AT)
    finally:
        echo.close()
    assert result.status == 503
    assert "SUPERSECRET" not in (result.error or "")
    assert "hunter2" not in (result.error or "")


def test_receiver_fixture_still_delivers_with_the_deadline_transport() -> None:
    receiver = LoopbackReceiver()
    try:
        endpoint = Endpoint("crm", receiver.url, WebhookSecret.generate())
        with WebhookSender() as sender:
            assert sender.deliver(endpoint, "evt_1", b"{}").delivered
    finally:
        receiver.close()
