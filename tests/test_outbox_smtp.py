"""The outbox over a real SMTP server on loopback: a message queued while the server is down is
sent by ``run_due`` once it is back, with the same Message-ID."""

from __future__ import annotations

import email
import socket
from email import policy
from typing import Any

from aiosmtpd.controller import Controller

from reseller_plans import Plan
from reseller_plans.mail import SMTPMailer, message_id_header
from service_world import make_world


class Collect:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_message_queued_while_the_server_is_down_is_sent_when_it_comes_back() -> None:
    port = _free_port()
    world = make_world()
    world.reseller("3542")
    world.mailer = SMTPMailer(  # type: ignore[assignment]
        "127.0.0.1", port, sender="noreply@disti.example", security="none", timeout=5.0
    )
    plans = world.restart()

    sub = plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    (entry,) = plans.outbox(sub.id)
    assert entry.sent_at is None
    assert entry.last_error is not None

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="smtp.test")
    controller.start()
    try:
        report = plans.run_due()
    finally:
        controller.stop()

    assert report.emails_sent == 1
    (message,) = handler.messages
    assert message["To"] == "owner@3542.example"
    assert message["Message-ID"] == message_id_header(entry.id)
    assert plans.outbox(sub.id)[0].sent_at is not None
    assert plans.run_due().emails_sent == 0  # sent once, not again
