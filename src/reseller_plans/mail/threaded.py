"""``ThreadedMailer``: any ``Mailer`` (``SMTPMailer``, ``ConsoleMailer``, a host's own) for an
async host, each send made in a worker thread.

Chosen over an async SMTP library from measurements (``benchmarks/bench_async_mailer.py``:
aiosmtplib against ``SMTPMailer`` in a worker thread, the same MIME bytes to one aiosmtpd server
on loopback, A B A B pairs): at one message in flight the two are equal (median wall ratio
1.01), at 16 in flight aiosmtplib was 0.92 of the thread's time, within this machine's noise.
A second SMTP client would have needed its own error classification and redaction of the
server's replies (what makes a refusal permanent or transient, what hides a password), and a
new dependency; the thread reuses ``SMTPMailer``'s, and works for every ``Mailer``.

A send is one call of the wrapped mailer's ``send`` in a thread of the executor (the event
loop's default one, or the one given). A task cancelled while its send is in flight gets
``CancelledError`` at once; the send itself cannot be stopped and goes on in its thread, so the
message may still arrive: the outbox then sends it again under the same ``Message-ID`` (at
least once, as ever).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Protocol

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.ports import EmailMessage, Mailer

__all__ = ["AsyncMailer", "ThreadedMailer"]


class AsyncMailer(Protocol):
    """Sends one email, awaited. Raises ``TransientBackendError`` or
    ``PermanentBackendError``, as the ``Mailer`` port does."""

    async def send(self, message: EmailMessage) -> None: ...


class ThreadedMailer:
    """An ``AsyncMailer`` over a ``Mailer``: each ``send`` in a worker thread.

    Args:
        mailer: the mailer that sends (its errors pass through unchanged).
        executor: the threads to send in (the running loop's default executor when None;
            give one of your own to bound how many sends run at once).

    Raises:
        InvalidInput: ``mailer`` has no ``send``.
    """

    def __init__(
        self, mailer: Mailer, *, executor: concurrent.futures.Executor | None = None
    ) -> None:
        if not callable(getattr(mailer, "send", None)):
            raise InvalidInput(f"ThreadedMailer needs a Mailer (with send), not {mailer!r}")
        self.mailer = mailer
        self._executor = executor

    async def send(self, message: EmailMessage) -> None:
        """Send one message through the wrapped mailer, in a worker thread.

        Raises:
            TransientBackendError: as the wrapped mailer does.
            PermanentBackendError: as the wrapped mailer does.
        """
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.mailer.send, message)

    def close(self) -> None:
        """Close the wrapped mailer, if it has a ``close()`` (the executor is the caller's)."""
        close = getattr(self.mailer, "close", None)
        if callable(close):
            close()

    def __repr__(self) -> str:
        return f"ThreadedMailer({self.mailer!r})"
