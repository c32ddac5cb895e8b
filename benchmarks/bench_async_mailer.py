"""Which async mailer: aiosmtplib, or our ``SMTPMailer`` in a worker thread? Measured side by side.

Issue 18 asks for an async mailer, "SMTP through a well-kept async library, or the sync one in
a worker thread (choose from measurements)". Both send the same messages to one aiosmtpd server
on loopback (in a thread of its own, so that the client's CPU is what ``process_time`` of the
client thread pool and event loop adds up to... we report wall time and process CPU per
message, which includes the server's; the server's share is the same on both sides):

- ``thread``: ``await asyncio.to_thread(SMTPMailer(...).send, message)``;
- ``aiosmtplib``: ``await aiosmtplib.send(mime, hostname=..., port=...)`` with the same MIME
  message ``SMTPMailer`` composes (one connection per message, as ours).

Each runs ``--messages`` messages at ``--concurrency`` in flight, the two sides interleaved
(A B A B) ``--repeats`` times; it prints each pair's figures and the median ratios. Nothing
asserts a time.

    python benchmarks/bench_async_mailer.py --messages 300 --concurrency 1 --repeats 5
    python benchmarks/bench_async_mailer.py --messages 300 --concurrency 16 --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

from reseller_plans.domain.messages import MessageKind
from reseller_plans.mail import SMTPMailer
from reseller_plans.ports import EmailMessage


class Sink:
    """Accepts every message and counts them."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


def _message(n: int) -> EmailMessage:
    return EmailMessage(
        f"bench:{n}", MessageKind.WELCOME, (f"owner{n}@reseller.example",),
        "Your reseller plan is active", "Log in to your Customer Portal.\n" * 20,
        "<p>Log in to your Customer Portal.</p>" * 20,
    )  # fmt: skip


async def _run(send: Callable[[EmailMessage], Awaitable[object]], messages: int,
               concurrency: int) -> None:  # fmt: skip
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            await send(_message(n))

    await asyncio.gather(*(one(n) for n in range(messages)))


def _measure(side: str, port: int, messages: int, concurrency: int) -> tuple[float, float]:
    mailer = SMTPMailer("127.0.0.1", port, sender="noreply@disti.example", security="none")

    async def by_thread(message: EmailMessage) -> None:
        await asyncio.to_thread(mailer.send, message)

    async def by_aiosmtplib(message: EmailMessage) -> None:
        mime = mailer._compose(message)  # the very bytes ours would send
        sender = mailer._envelope_from
        await aiosmtplib.send(
            mime, hostname="127.0.0.1", port=port, sender=sender,
            recipients=list(message.to), use_tls=False, start_tls=False,
        )  # fmt: skip

    send = by_thread if side == "thread" else by_aiosmtplib
    wall, cpu = time.perf_counter(), time.process_time()
    asyncio.run(_run(send, messages, concurrency))
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _measure("thread", port, 20, args.concurrency)  # warm up both
        _measure("aiosmtplib", port, 20, args.concurrency)
        wall_ratios, cpu_ratios = [], []
        print(f"{args.messages} messages, {args.concurrency} in flight; per message:")
        print(f"{'pair':>4}  {'thread ms':>9} {'cpu ms':>7}  {'aiosmtplib ms':>13} {'cpu ms':>7}")
        for pair in range(args.repeats):
            order = ("thread", "aiosmtplib") if pair % 2 == 0 else ("aiosmtplib", "thread")
            got = {side: _measure(side, port, args.messages, args.concurrency) for side in order}
            (tw, tc), (aw, ac) = got["thread"], got["aiosmtplib"]
            n = args.messages
            print(f"{pair:>4}  {tw / n * 1e3:>9.3f} {tc / n * 1e3:>7.3f}  "
                  f"{aw / n * 1e3:>13.3f} {ac / n * 1e3:>7.3f}")  # fmt: skip
            wall_ratios.append(aw / tw)
            cpu_ratios.append(ac / tc)
        print(f"median aiosmtplib / thread: wall {statistics.median(wall_ratios):.2f}, "
              f"cpu {statistics.median(cpu_ratios):.2f}")  # fmt: skip
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
