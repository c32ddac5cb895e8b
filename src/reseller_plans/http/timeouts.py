"""The timeouts and the connection pool of a backend's HTTP client (sync or async)."""

from __future__ import annotations

from typing import Final

import attrs
import httpx

__all__ = ["POOL_LIMITS", "Timeouts"]

# As many keep-alive connections as connections: the pool then never closes a "surplus" idle
# connection. httpcore 1.0.9's sync pool can close one it has just handed to a waiting thread
# (encode/httpcore#1110): with more threads than keep-alive slots (httpx's default is 20, a bulk
# run uses 32) a request then fails with "Bad file descriptor" or hangs until its read timeout.
POOL_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=100)
"""The pool of the clients we make: up to 100 connections, all of them kept alive."""


@attrs.frozen
class Timeouts:
    """Timeouts of one backend, in seconds.

    Attributes:
        connect: to establish a connection.
        read: to wait for a chunk of the response.
        write: to send a chunk of the request.
        pool: to wait for a free connection from the pool.
    """

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0

    def to_httpx(self) -> httpx.Timeout:
        """These timeouts as httpx wants them.

        Returns:
            The ``httpx.Timeout``.
        """
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write,
                             pool=self.pool)  # fmt: skip
