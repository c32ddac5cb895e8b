"""The service manager as an ASGI application (the ``server`` extra: Starlette and uvicorn).

One catch-all route hands every request to ``ServiceManager.handle`` in a worker thread (the
library is synchronous), so the base path is whatever the application is mounted under::

    uvicorn.run(create_app(service_manager), host="127.0.0.1", port=8080, **SERVER_LIMITS)

What the app itself bounds, since a server in front may not:

- **the body's size**: read only up to ``max_body_bytes`` + 1 bytes; a declared
  ``Content-Length`` over the limit is refused without reading, and a body that grows past it
  stops being read;
- **the time to read the body** (``body_timeout``): uvicorn has no such timeout, so a client
  that sends its body slowly, or stops halfway, is answered 408 and its connection closed;
- **the requests inside the app at once** (``max_in_flight``): one more is answered 503 at once,
  so slow clients cannot pile up without bound;
- **a client that goes away mid-body** is logged at INFO, not as an application error.

:data:`SERVER_LIMITS` are the uvicorn settings ``reseller-plans serve`` runs with. Slow *headers*
are not the app's to see (uvicorn parses them before calling it): leave them to a reverse proxy
in front (nginx ``client_header_timeout``, ``client_body_timeout``, ``limit_conn``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from reseller_plans.logs import get_logger
from reseller_plans.service_manager.handler import ServiceManager

__all__ = ["SERVER_LIMITS", "create_app"]

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_CLOSE: Final = {"connection": "close"}

logger = get_logger("service_manager")

# Any: uvicorn.run takes each keyword with its own type.
SERVER_LIMITS: Final[Mapping[str, Any]] = {
    "http": "h11",
    "ws": "none",
    "timeout_keep_alive": 5,
    "limit_concurrency": 128,
    "backlog": 256,
    "h11_max_incomplete_event_size": 16 * 1024,
    "timeout_graceful_shutdown": 10,
}
"""The uvicorn keyword arguments ``reseller-plans serve`` uses.

- ``timeout_keep_alive`` 5 s: an idle keep-alive connection is closed after it;
- ``limit_concurrency`` 128: connections and requests at once; beyond, uvicorn answers 503;
- ``backlog`` 256: connections waiting to be accepted;
- ``h11_max_incomplete_event_size`` 16 KiB: the request line and headers together;
- ``timeout_graceful_shutdown`` 10 s: requests under way get this long on shutdown;
- ``http`` ``h11`` and ``ws`` ``none``: the pure-Python HTTP/1.1 parser, no WebSockets.
"""


class _BodyTooSlow(Exception):
    pass


async def _bounded_body(request: Request, limit: int, timeout: float) -> bytes:
    declared = request.headers.get("content-length", "").strip()
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        return b""  # handle() refuses it from the header; the body is not read at all
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(timeout):
            async for chunk in request.stream():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break  # one byte over is enough for handle() to refuse it
    except TimeoutError:
        raise _BodyTooSlow from None
    return b"".join(chunks)


def create_app(
    service_manager: ServiceManager, *, body_timeout: float = 10.0, max_in_flight: int = 64
) -> Starlette:
    """An ASGI application that serves ``service_manager`` on every path.

    Args:
        service_manager: the handler every request is delegated to.
        body_timeout: seconds a client has to send the whole body; after it the request is
            answered 408 and the connection closed.
        max_in_flight: requests inside the app at once (reading their body or being handled);
            one more is answered 503 with ``Retry-After: 1``.

    Returns:
        A Starlette application (no middleware, no lifespan work).

    Raises:
        ValueError: a ``body_timeout`` that is not positive, or ``max_in_flight`` below 1.
    """
    if not body_timeout > 0:
        raise ValueError(f"body_timeout must be seconds > 0, got {body_timeout!r}")
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight!r}")
    in_flight = 0

    async def endpoint(request: Request) -> Response:
        nonlocal in_flight  # one event loop: no lock needed between these two lines
        if in_flight >= max_in_flight:
            logger.warning("busy: %d requests in flight, answered 503", in_flight)
            return Response(status_code=503, headers={"retry-after": "1", **_CLOSE})
        in_flight += 1
        try:
            return await _answer(request)
        finally:
            in_flight -= 1

    async def _answer(request: Request) -> Response:
        try:
            body = await _bounded_body(request, service_manager.max_body_bytes, body_timeout)
        except _BodyTooSlow:
            logger.info("the client took over %.1f s to send its body: answered 408", body_timeout)
            return Response(status_code=408, headers=_CLOSE)
        except ClientDisconnect:
            logger.info("the client went away while sending its body")
            return Response(status_code=400, headers=_CLOSE)  # nobody is left to read it
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
        ]
        answer = await run_in_threadpool(
            service_manager.handle,
            request.method,
            request.url.path,
            headers,
            body,
            request.url.query,
        )
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])
