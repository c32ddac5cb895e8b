"""``ThreadedMailer``: a ``Mailer`` awaited from async code, against a real SMTP server on
loopback: messages arrive, errors pass through as the sync mailer raises them, many sends run at
once, and a cancelled send raises at once while its thread finishes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from reseller_plans.domain.errors import InvalidInput, PermanentBackendError
from reseller_plans.domain.messages import MessageKind
from reseller_plans.mail import AsyncMailer, SMTPMailer, ThreadedMailer
from reseller_plans.ports import EmailMessage


class Box:
    def __init__(self) -> None:
        self.refusing = False
        self.slow = threading.Event()
        self.received: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.slow.is_set():
            await asyncio.sleep(0.5)
        if self.refusing:
            return "554 5.7.1 refused by policy"
        self.received.append(envelope.rcpt_tos[0])
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Box, SMTPMailer]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = Box()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, SMTPMailer("127.0.0.1", port, sender="noreply@disti.example", security="none")
    controller.stop()


def _message(n: int) -> EmailMessage:
    return EmailMessage(
        f"m:{n}", MessageKind.WELCOME, (f"o{n}@r.example",), "Hi", "text", "<p>x</p>"
    )


def test_messages_sent_from_async_code_arrive(smtp: tuple[Box, SMTPMailer]) -> None:
    box, mailer = smtp
    threaded: AsyncMailer = ThreadedMailer(mailer)

    async def main() -> None:
        await asyncio.gather(*(threaded.send(_message(n)) for n in range(12)))

    asyncio.run(main())
    assert sorted(box.received) == sorted(f"o{n}@r.example" for n in range(12))


def test_a_refusal_passes_through_as_the_sync_mailer_raises_it(
    smtp: tuple[Box, SMTPMailer],
) -> None:
    box, mailer = smtp
    box.refusing = True
    with pytest.raises(PermanentBackendError, match="refused the message"):
        asyncio.run(ThreadedMailer(mailer).send(_message(1)))


def test_a_cancelled_send_raises_at_once_and_its_thread_finishes(
    smtp: tuple[Box, SMTPMailer],
) -> None:
    box, mailer = smtp
    box.slow.set()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    threaded = ThreadedMailer(mailer, executor=executor)

    async def main() -> None:
        task = asyncio.create_task(threaded.send(_message(7)))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    executor.shutdown(wait=True)  # the send went on in its thread: at least once
    assert box.received == ["o7@r.example"]


def test_a_mailer_without_send_is_refused() -> None:
    with pytest.raises(InvalidInput, match="needs a Mailer"):
        ThreadedMailer(object())  # type: ignore[arg-type]
    assert "SMTPMailer" in repr(ThreadedMailer(SMTPMailer("h", 25, sender="a@b.example")))
