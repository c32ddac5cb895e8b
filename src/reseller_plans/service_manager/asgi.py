"""The service manager as an ASGI application (the ``server`` extra: Starlette and uvicorn).

One catch-all route hands every request to ``ServiceManager.handle`` in a worker thread (the
library is synchronous), so the base path is whatever the application is mounted under::

    uvicorn.run(create_app(service_manager), host="127.0.0.1", port=8080)

The body is read only up to ``max_body_bytes`` + 1 bytes: a declared ``Content-Length`` over the
limit is refused without reading, and a body that grows past it stops being read.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reseller_plans.service_manager.handler import ServiceManager

__all__ = ["create_app"]

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "").strip()
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        return b""  # handle() refuses it from the header; the body is not read at all
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break  # one byte over is enough for handle() to refuse it
    return b"".join(chunks)


def create_app(service_manager: ServiceManager) -> Starlette:
    """An ASGI application that serves ``service_manager`` on every path.

    Args:
        service_manager: the handler every request is delegated to.

    Returns:
        A Starlette application (no middleware, no lifespan work).
    """

    async def endpoint(request: Request) -> Response:
        body = await _bounded_body(request, service_manager.max_body_bytes)
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
