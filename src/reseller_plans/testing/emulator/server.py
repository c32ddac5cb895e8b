"""Run the emulator on loopback: in a thread for tests and demos, or standalone.

:func:`serve_emulator` starts uvicorn on a free ``127.0.0.1`` port in a background thread and
yields an :class:`EmulatorServer` whose ``url`` the adapters point at; leaving the block stops
the server. uvicorn is given ``log_config=None``: we never configure its loggers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from reseller_plans.testing.emulator.app import Emulator
from reseller_plans.testing.emulator.faults import Faults
from reseller_plans.testing.emulator.state import EmulatorState

__all__ = ["EmulatorServer", "serve_emulator"]

_STARTUP_TIMEOUT = 10.0
_POLL = 0.005


class EmulatorServer:
    """An emulator served by uvicorn on a loopback port, in a background thread.

    Args:
        state: the data (the demo fixture when None).
        faults: fault injection settings.
        host: the interface (loopback).
        port: the port; 0 picks a free one.

    Attributes:
        emulator: the emulated platform (its ``state``, ``fail_next()``).
    """

    def __init__(
        self,
        state: EmulatorState | None = None,
        faults: Faults | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.emulator = Emulator(state, faults)
        self._host = host
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when the proto
        # says TCP; without it every keep-alive response waits ~40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.emulator.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:54321``."""
        return f"http://{self._host}:{self.port}"

    @property
    def state(self) -> EmulatorState:
        """The emulated platform's data and call counters."""
        return self.emulator.state

    @property
    def open_connections(self) -> int:
        """Client connections the server holds open right now."""
        return len(self._server.server_state.connections)

    def start(self) -> EmulatorServer:
        """Start serving and wait (at most 10 s) until the server accepts connections.

        Returns:
            This server.

        Raises:
            RuntimeError: the server did not start.
        """
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]},
            name=f"emulator-{self.port}", daemon=True,
        )  # fmt: skip
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator did not start")
            time.sleep(_POLL)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STARTUP_TIMEOUT)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmulatorServer(url={self.url!r})"


@contextmanager
def serve_emulator(
    state: EmulatorState | None = None, faults: Faults | None = None, *, port: int = 0
) -> Iterator[EmulatorServer]:
    """Serve the emulator on ``127.0.0.1`` for the duration of a ``with`` block.

    Args:
        state: the data (the demo fixture when None).
        faults: fault injection settings.
        port: the port; 0 (default) picks a free one.

    Yields:
        The running server; ``server.url`` is its base URL.

    Raises:
        RuntimeError: the server did not start.
    """
    server = EmulatorServer(state, faults, port=port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
