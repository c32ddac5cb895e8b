"""A real-socket fault proxy for the test suite: it stands between the HTTP adapters and the
emulator on loopback and misbehaves on the requests it is told to.

Every connection carries one request (the proxy answers ``Connection: close``), so a fault hits
exactly the request it names. A rule matches a method and a path glob (``POST
/api/orders/*/checkout``) and answers each matching request with its fault:

=================  ===========================================================  ============
fault              what the client sees                                         forwarded?
=================  ===========================================================  ============
reset_before       the connection reset before any response                     no
reset_after        the request reaches the emulator, then the connection resets  yes
timeout            no answer until the client's read timeout                     no
429_retry_after    429 with ``Retry-After: 1``                                  no
429                429 without ``Retry-After``                                  no
403_body           403 whose body says "rate limit exceeded"                    no
403_retry_after    403 with ``Retry-After: 1``                                  no
403_remaining      403 with ``X-RateLimit-Remaining: 0``                        no
500, 503           a server error                                               no
malformed_json     the emulator acts; 200, ``application/json``, a body not JSON   yes
wrong_shape        the emulator acts; 200 with a JSON array, not an object       yes
400, 404           a refusal, no such object                                    no
acted_garbled      the emulator acts; its own answer, cut off mid-body           yes
=================  ===========================================================  ============
"""

from __future__ import annotations

import fnmatch
import socket
import struct
import threading
from dataclasses import dataclass, field

FAULTS = (
    "reset_before", "reset_after", "timeout", "429_retry_after", "429", "403_body",
    "403_retry_after", "403_remaining", "500", "503", "malformed_json", "wrong_shape", "400",
    "404", "acted_garbled",
)  # fmt: skip
FORWARDED = frozenset({"reset_after", "malformed_json", "wrong_shape", "acted_garbled"})
_GARBLED = b"{'not': json"
_CANNED: dict[str, tuple[int, dict[str, str], bytes]] = {
    "429_retry_after": (429, {"Retry-After": "1"}, b'{"message": "slow down"}'),
    "429": (429, {}, b'{"message": "slow down"}'),
    "403_body": (403, {}, b'{"message": "API rate limit exceeded"}'),
    "403_retry_after": (403, {"Retry-After": "1"}, b'{"message": "Forbidden"}'),
    "403_remaining": (403, {"X-RateLimit-Remaining": "0"}, b'{"message": "Forbidden"}'),
    "500": (500, {}, b'{"message": "boom"}'),
    "503": (503, {}, b'{"message": "maintenance"}'),
    "malformed_json": (200, {}, _GARBLED),
    "wrong_shape": (200, {}, b"[]"),
    "400": (400, {}, b'{"message": "invalid parameter"}'),
    "404": (404, {}, b'{"message": "no such object"}'),
}
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}  # fmt: skip


@dataclass
class Seen:
    """A request as the proxy received it."""

    method: str
    path: str
    idempotency_key: str | None
    fault: str | None


@dataclass
class Rule:
    method: str
    path: str  # a glob
    fault: str
    remaining: int

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and method == self.method and fnmatch.fnmatchcase(path, self.path)


@dataclass
class FaultProxy:
    """Listens on a loopback port and forwards to ``upstream_port``, injecting faults.

    Args:
        upstream_port: the emulator's port on 127.0.0.1.
        hang: how long a ``timeout`` fault holds the connection (longer than the client's
            read timeout).
    """

    upstream_port: int
    hang: float = 2.0
    seen: list[Seen] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fault-proxy")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, method: str, path: str, fault: str, *, count: int = 10**6) -> None:
        """Answer the next ``count`` requests matching ``method`` and the ``path`` glob with
        ``fault``."""
        assert fault in FAULTS, fault
        with self._lock:
            self.rules.append(Rule(method, path, fault, count))

    def clear(self) -> None:
        """Drop every rule and forget the requests seen."""
        with self._lock:
            self.rules.clear()
            self.seen.clear()

    def requests_to(self, method: str, path: str) -> list[Seen]:
        """The requests seen that match ``method`` and the ``path`` glob."""
        with self._lock:
            return [
                s for s in self.seen if s.method == method and fnmatch.fnmatchcase(s.path, path)
            ]

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)

    # -- serving ------------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            request = _read_request(conn)
            if request is None:
                return
            head, body = request
            method, target = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
            path = target.split("?", 1)[0]
            key = _header(head, b"idempotency-key")
            with self._lock:
                rule = next((r for r in self.rules if r.matches(method, path)), None)
                if rule is not None:
                    rule.remaining -= 1
                self.seen.append(Seen(method, path, key, rule.fault if rule else None))
            self._answer(conn, head, body, rule.fault if rule else None)
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, conn: socket.socket, head: bytes, body: bytes, fault: str | None) -> None:
        if fault is None:
            conn.sendall(self._forward(head, body))
        elif fault == "reset_before":
            _reset(conn)
        elif fault == "reset_after":
            self._forward(head, body)
            _reset(conn)
        elif fault == "timeout":
            self._stop.wait(self.hang)
        elif fault == "acted_garbled":
            answer = self._forward(head, body)
            _, _, content = answer.partition(b"\r\n\r\n")
            conn.sendall(_response(200, {}, content[: len(content) // 2] or _GARBLED))
        else:
            if fault in FORWARDED:  # a 2xx says it acted: let it have
                self._forward(head, body)
            status, headers, content = _CANNED[fault]
            conn.sendall(_response(status, headers, content))

    def _forward(self, head: bytes, body: bytes) -> bytes:
        lines = [
            line for line in head.split(b"\r\n")
            if line and not line.lower().startswith((b"connection:", b"keep-alive:"))
        ]  # fmt: skip
        out = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10) as up:
            up.sendall(out)
            chunks = []
            while chunk := up.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def _read_request(conn: socket.socket) -> tuple[bytes, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(_header(head, b"content-length") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def _header(head: bytes, name: bytes) -> str | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return None


def _response(status: int, headers: dict[str, str], content: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}", "Content-Type: application/json",
             f"Content-Length: {len(content)}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content


def _reset(conn: socket.socket) -> None:
    """Close with a TCP RST rather than a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
