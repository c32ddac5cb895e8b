"""The service manager withstands slow and vanishing clients, over real sockets under uvicorn.

- A body sent too slowly is answered 408 after ``body_timeout`` and its connection closed.
- A client that goes away mid-body is logged at INFO, never as an application error.
- Requests beyond ``max_in_flight`` are answered 503 at once, and the bound frees up again.
- ``SERVER_LIMITS`` (what ``reseller-plans serve`` runs with) bounds the connections uvicorn
  holds: past ``limit_concurrency`` a request is answered 503.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from reseller_plans.service_manager.asgi import SERVER_LIMITS, create_app
from service_manager_world import HEADERS, World

ROUTE = "/api/ResellerPlans/Subscriptions/Create"
BODY_TIMEOUT = 0.5


@contextlib.contextmanager
def serving(app: Any, **limits: Any) -> Iterator[int]:
    """Serve ``app`` with uvicorn on a free loopback port, in a thread; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    options = {**SERVER_LIMITS, **limits}
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def _head(length: int, *, expect_continue: bool = False, path: str = ROUTE) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: sm.test", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in HEADERS.items()]
    lines.append(f"Content-Length: {length}")
    if expect_continue:
        lines.append("Expect: 100-continue")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.settimeout(10)
    return conn


def _read_until_closed(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def _inside_the_app(port: int) -> socket.socket:
    """A request whose body has begun and stalls; returns once the app is reading the body
    (uvicorn sends ``100 Continue`` when the app first asks for the body)."""
    conn = _connect(port)
    conn.sendall(_head(100, expect_continue=True))
    assert conn.recv(65536).startswith(b"HTTP/1.1 100")
    conn.sendall(b'{"Account": ')
    return conn


def _get(port: int, path: str = "/api/ResellerPlans/Fields/Get") -> bytes:
    with _connect(port) as conn:
        lines = [f"GET {path} HTTP/1.1", "Host: sm.test", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in HEADERS.items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return _read_until_closed(conn)


class Watch(logging.Handler):
    """Every record of every logger; ``seen`` is set when a record contains ``marker``."""

    def __init__(self, marker: str) -> None:
        super().__init__(logging.DEBUG)
        self.marker = marker
        self.records: list[logging.LogRecord] = []
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.marker in record.getMessage():
            self.seen.set()


@pytest.fixture
def watch() -> Iterator[Watch]:
    handler = Watch("went away while sending its body")
    root, ours = logging.getLogger(), logging.getLogger("reseller_plans")
    level = ours.level
    root.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        ours.setLevel(level)


def test_a_body_sent_too_slowly_is_answered_408_and_the_connection_closed() -> None:
    world = World()
    before = world.snapshot()
    app = create_app(world.service_manager, body_timeout=BODY_TIMEOUT)
    with serving(app) as port, _connect(port) as conn:
        conn.sendall(_head(100))
        conn.sendall(b'{"Account": {"ID": "35')  # and nothing more
        started = time.monotonic()
        answer = _read_until_closed(conn)  # returns only once the server closes it
        waited = time.monotonic() - started

    assert answer.startswith(b"HTTP/1.1 408")
    assert b"connection: close" in answer.lower()
    assert BODY_TIMEOUT * 0.8 <= waited < 5
    assert world.snapshot() == before


def test_a_body_that_arrives_in_time_in_several_pieces_is_answered() -> None:
    world = World()
    app = create_app(world.service_manager, body_timeout=5.0)
    body = b'{"Account": {"ID": "3542"}, "CheckOnly": true}'
    with serving(app) as port, _connect(port) as conn:
        conn.sendall(_head(len(body)))
        for piece in (body[:10], body[10:30], body[30:]):
            conn.sendall(piece)
        answer = b""
        while b"\r\n\r\n" not in answer or b'"Code"' not in answer:
            chunk = conn.recv(65536)  # headers and body may come in separate segments
            if not chunk:
                break
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"Code"' in answer


def test_a_client_gone_mid_body_is_logged_at_info_and_not_as_an_error(watch: Watch) -> None:
    world = World()
    before = world.snapshot()
    app = create_app(world.service_manager, body_timeout=10.0)
    with serving(app) as port:
        conn = _inside_the_app(port)
        conn.close()  # halfway through the body
        assert watch.seen.wait(timeout=10)
        assert _get(port).startswith(b"HTTP/1.1 200")  # and the server carries on

    (gone,) = [r for r in watch.records if watch.marker in r.getMessage()]
    assert gone.levelno == logging.INFO
    assert gone.name == "reseller_plans.service_manager"
    assert [r for r in watch.records if r.levelno >= logging.ERROR] == []
    assert [r for r in watch.records if r.exc_info] == []
    assert world.snapshot() == before


def test_requests_beyond_max_in_flight_are_answered_503_at_once_until_one_ends() -> None:
    world = World()
    app = create_app(world.service_manager, body_timeout=BODY_TIMEOUT * 4, max_in_flight=2)
    with serving(app) as port:
        first, second = _inside_the_app(port), _inside_the_app(port)
        with first, second:
            busy = _get(port)
            assert busy.startswith(b"HTTP/1.1 503")
            assert b"retry-after: 1" in busy.lower()
            assert _read_until_closed(first).startswith(b"HTTP/1.1 408")
            assert _get(port).startswith(b"HTTP/1.1 200")  # one place is free again
            assert _read_until_closed(second).startswith(b"HTTP/1.1 408")


def test_serve_limits_bound_the_connections_uvicorn_holds() -> None:
    world = World()
    limit = SERVER_LIMITS["limit_concurrency"]
    with serving(create_app(world.service_manager)) as port:
        assert _get(port).startswith(b"HTTP/1.1 200")
        idle = [_connect(port) for _ in range(limit)]  # connected, never a byte sent
        try:
            assert _get(port).startswith(b"HTTP/1.1 503")
        finally:
            for conn in idle:
                conn.close()


def test_serve_limits_are_the_documented_ones() -> None:
    assert dict(SERVER_LIMITS) == {
        "http": "h11",
        "ws": "none",
        "timeout_keep_alive": 5,
        "limit_concurrency": 128,
        "backlog": 256,
        "h11_max_incomplete_event_size": 16 * 1024,
        "timeout_graceful_shutdown": 10,
    }
    config = uvicorn.Config(create_app(World().service_manager), **SERVER_LIMITS)
    assert config.limit_concurrency == 128
    assert config.timeout_keep_alive == 5


@pytest.mark.parametrize(("option", "value"), [("body_timeout", 0), ("max_in_flight", 0)])
def test_limits_that_cannot_work_are_refused(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=option):
        create_app(World().service_manager, **{option: value})
