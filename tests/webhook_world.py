"""A webhook receiver on loopback, scripted, and a service world that delivers to it.

``LoopbackReceiver`` is a real HTTP server (the standard library's, in a thread): it keeps
every request (headers and raw body) and answers each with the next status of its script, 204
once the script runs out. ``webhook_world`` builds the service world of ``service_world`` with
a ``WebhookNotifier`` pointed at it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs

from reseller_plans.ports import Store
from reseller_plans.service import ResellerPlans
from reseller_plans.webhooks import DeliverySettings, Endpoint, WebhookNotifier, WebhookSecret
from service_world import World, make_world


@attrs.frozen
class Received:
    """One request the receiver got, and what it answered."""

    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class LoopbackReceiver:
    """A receiver on 127.0.0.1 that answers by script."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.down_for: set[str] = set()
        """Event ids it answers 500 to, whatever the script says."""
        self.delay = 0.0
        """Seconds it takes to answer each request."""
        self.hang_next = threading.Event()
        """Set: the next request is kept (status 0) and never answered; ``hung`` is set then."""
        self.hung = threading.Event()
        self.release = threading.Event()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if receiver.hang_next.is_set():
                    receiver.hang_next.clear()
                    with receiver.lock:
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        receiver.received.append(Received(headers, body, 0))
                    receiver.hung.set()
                    receiver.release.wait(60)
                    self.close_connection = True
                    return
                time.sleep(receiver.delay)
                with receiver.lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    status = receiver.script.pop(0) if receiver.script else 204
                    if headers.get("webhook-id") in receiver.down_for:
                        status = 500
                    receiver.received.append(Received(headers, body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def delivered(self) -> list[Received]:
        """The requests it answered 2xx, in the order they came."""
        with self.lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def webhook_world(
    endpoints: list[Endpoint],
    *,
    make_store: Callable[[], Store] | None = None,
    settings: DeliverySettings | None = None,
) -> tuple[World, WebhookNotifier]:
    """The service world, its ``ResellerPlans`` delivering to ``endpoints``."""
    world = make_world(make_store)
    notifier = WebhookNotifier(endpoints, settings=settings, random=lambda: 0.0)
    world.plans = ResellerPlans(
        bss=world.bss, storefront=world.storefront, mailer=world.mailer, store=world.store,
        clock=world.clock, new_id=lambda: f"sub_{next(world.ids)}", webhooks=notifier,
    )  # fmt: skip
    world.reseller("3542")
    world.reseller("3543")
    return world, notifier


def receiving() -> Iterator[tuple[LoopbackReceiver, Endpoint, WebhookSecret]]:
    """A receiver and an endpoint pointed at it (for a fixture)."""
    receiver = LoopbackReceiver()
    secret = WebhookSecret.generate()
    try:
        yield receiver, Endpoint("crm", receiver.url, secret), secret
    finally:
        receiver.close()
