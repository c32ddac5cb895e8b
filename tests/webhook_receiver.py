"""A webhook receiver on loopback for the tests: a threading ``http.server`` on a free port of
127.0.0.1 that checks every delivery with our ``verify()`` and with the ``standardwebhooks``
package's own ``Webhook.verify``, records it, and answers what the test scripted.

The receiver's clock is the test's fake clock, for both checks: ``standardwebhooks`` reads
``datetime.now``, which :meth:`Receiver.library_clock` points at the fake clock while a test
runs, so the deliveries of a test that moves time by hours are checked by both.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest
import standardwebhooks.webhooks
from standardwebhooks import Webhook

from reseller_plans.ports import Clock
from reseller_plans.webhooks import WebhookSecret, WebhookVerificationError, verify

__all__ = ["Answer", "Received", "Receiver", "payloads", "serve_receiver"]


@attrs.frozen
class Answer:
    """What the receiver answers one request: a status, headers, a body; ``hang`` blocks until
    the test ends (the client's read timeout fires first)."""

    status: int = 204
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    hang: bool = False


@attrs.frozen
class Received:
    """One request as the receiver saw it, and what both checks said."""

    headers: dict[str, str]  # names in lowercase
    body: bytes
    ours: Any  # the payload, or the WebhookVerificationError
    library: Any  # the payload, or the standardwebhooks error
    status: int

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def verified(self) -> bool:
        """Both checks passed and agree on the payload."""
        return not isinstance(self.ours, Exception) and self.ours == self.library


class Receiver:
    """The receiver's state: its secrets, clock, scripted answers and what it received."""

    def __init__(self, secrets: list[WebhookSecret], clock: Clock) -> None:
        self.secrets = secrets
        self.clock = clock
        self.script: deque[Answer] = deque()
        self.policy: Callable[[dict[str, Any]], Answer | None] = lambda _payload: None
        self.received: list[Received] = []
        self.url = ""
        self.release = threading.Event()
        self._lock = threading.Lock()

    def answer(self, *answers: Answer) -> None:
        """Answer the next requests so, then as ``policy`` says (given the payload), else 204."""
        self.script.extend(answers)

    def accepted(self) -> list[Received]:
        """The requests answered 2xx, in order."""
        return [r for r in self.received if 200 <= r.status < 300]

    def handle(self, headers: dict[str, str], body: bytes) -> Answer:
        try:
            ours: Any = verify(body, headers, self.secrets, now=self.clock)
        except WebhookVerificationError as error:
            ours = error
        library: Any = None
        for secret in self.secrets:
            try:
                library = Webhook(secret.reveal()).verify(body, headers)
                break
            except standardwebhooks.WebhookVerificationError as error:
                library = error
        with self._lock:
            if self.script:
                answer = self.script.popleft()
            else:
                payload = json.loads(body) if not isinstance(ours, Exception) else {}
                answer = self.policy(payload) or Answer()
            status = answer.status if not isinstance(ours, Exception) else 400
            lowered = {name.lower(): value for name, value in headers.items()}
            self.received.append(Received(lowered, body, ours, library, status))
        return attrs.evolve(answer, status=status)


def _library_clock(clock: Clock) -> type[dt.datetime]:
    class LibraryClock(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> LibraryClock:  # type: ignore[override]
            return cls.fromtimestamp(clock.now().timestamp(), tz)

    return LibraryClock


def _handler(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            answer = receiver.handle(dict(self.headers.items()), body)
            if answer.hang:
                receiver.release.wait(timeout=5)
                return
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the tests read what was received, not a log

    return Handler


@contextmanager
def serve_receiver(
    monkeypatch: pytest.MonkeyPatch, secrets: list[WebhookSecret], clock: Clock
) -> Iterator[Receiver]:
    """A receiver on ``http://127.0.0.1:<free port>/hooks`` for the ``with`` block."""
    receiver = Receiver(secrets, clock)
    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", _library_clock(clock))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)  # fmt: skip
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def payloads(received: list[Received]) -> list[dict[str, Any]]:
    """The JSON bodies, parsed."""
    return [json.loads(r.body) for r in received]
