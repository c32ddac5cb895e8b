"""The request a backend client sends, and the steps of one exchange.

Two levels of sans-IO steps, each performed by a sync and an async driver:

- an adapter call (``BSSClient.place_plan_order``) is a :data:`Flow`: a generator that yields
  :class:`Request` objects and reads their :class:`~reseller_plans.http.reply.Reply`;
  ``BackendClient.run`` and ``AsyncBackendClient.run`` perform it under one deadline;
- one request is an :data:`Exchange` of the core (:mod:`reseller_plans.http.core`), whose steps
  (:class:`Authenticate`, :class:`Send`, :class:`Refresh`, :class:`Sleep`) the backend clients
  perform.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Mapping
from typing import Any, Final, TypeVar
from urllib.parse import quote

import attrs
import httpx

from reseller_plans.http.reply import Reply

__all__ = [
    "AUTHENTICATE",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENT_METHODS",
    "USER_AGENT",
    "Authenticate",
    "Call",
    "Exchange",
    "Flow",
    "Request",
    "Refresh",
    "Send",
    "Sleep",
    "Step",
    "path_segment",
]

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
"""The header that makes a write safe to repeat."""

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT"})
"""Methods retried without an idempotency key (PUT replaces a resource: repeating it is safe)."""

USER_AGENT: Final = "reseller-plans"
"""The ``User-Agent`` of every request."""


@attrs.frozen
class Call:
    """One logical request, built once: every attempt sends exactly this.

    Attributes:
        method: the HTTP method, upper case.
        url: the absolute URL.
        path: the path for messages and logs (no query: it may carry anything).
        params: query parameters.
        body: ``json=`` or ``data=`` for httpx.
        headers: this request's own headers (the idempotency key among them).
        can_retry: an attempt that failed transiently may be repeated.
        authenticate: the authenticator's headers go on it.
        accept: statuses besides 2xx returned rather than raised.
        write: a write whose answer we cannot read may have acted.
    """

    method: str
    url: str
    path: str
    params: Mapping[str, str | int] | None
    body: dict[str, Any]
    headers: dict[str, str]
    can_retry: bool
    authenticate: bool
    accept: frozenset[int]
    write: bool


def path_segment(value: str) -> str:
    """An id as one URL path segment, percent-encoded so that it cannot change the route.

    Args:
        value: the id.

    Returns:
        The encoded segment (``"a/b"`` → ``"a%2Fb"``).
    """
    return quote(str(value), safe="-._~")


class Authenticate:
    """Step: answer with the authenticator's headers."""

    __slots__ = ()


class Send:
    """Step: send ``call`` with ``headers`` and ``timeout``; answer with the response, or throw
    the send's ``httpx`` exception in."""

    __slots__ = ("call", "headers", "timeout")

    def __init__(self, call: Call, headers: dict[str, str], timeout: httpx.Timeout) -> None:
        self.call = call
        self.headers = headers
        self.timeout = timeout


class Refresh:
    """Step: the backend refused ``used`` (401); answer whether a replay may succeed."""

    __slots__ = ("used",)

    def __init__(self, used: Mapping[str, str]) -> None:
        self.used = used


class Sleep:
    """Step: wait ``seconds`` before the next attempt; answer with None."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


AUTHENTICATE: Final = Authenticate()

Step = Authenticate | Send | Refresh | Sleep
Exchange = Generator[Step, Any, Reply]
"""One logical request as steps: yields what to do, returns the reply."""


_T = TypeVar("_T")


@attrs.frozen
class Request:
    """One logical request of an adapter call: the arguments of ``BackendClient.request``."""

    method: str
    path: str
    params: Mapping[str, str | int] | None = None
    json_body: object = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    idempotency_key: str | None = None
    retry_unsafe: bool = False
    authenticate: bool = True
    accept: Collection[int] = ()


Flow = Generator[Request, Reply, _T]
"""An adapter call as steps: yields requests, is sent their replies (or thrown their errors),
returns the call's result."""
