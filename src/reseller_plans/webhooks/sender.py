"""Sending one delivery: a signed POST, its answer read into an ``AttemptResult``.

Sans-IO: :func:`build_request` makes the request (the body bytes and the signed headers) and
:func:`read_response` turns an answer into a result; both are pure. :class:`WebhookSender`
only moves the bytes, over an ``httpx.Client`` with timeouts, and never raises for anything the
receiver does:

- 2xx: delivered;
- 410 Gone: gone (the endpoint asks never to be called again);
- any other status (redirects are not followed), a timeout, a connection that fails: failed,
  worth another attempt (``Retry-After`` is read).

One call makes one attempt: when to make the next is the delivery rules' decision
(:mod:`reseller_plans.domain.deliveries`), kept in the feed's store. Error texts are redacted of
secrets; the URL's query and user information never appear in them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import attrs
import httpx

from reseller_plans import __version__
from reseller_plans.domain.deliveries import AttemptOutcome, AttemptResult
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.http.client import Timeouts
from reseller_plans.http.retry import parse_retry_after
from reseller_plans.logs import get_logger, redact
from reseller_plans.ports import Clock, SystemClock
from reseller_plans.webhooks.attempt_deadline import DeadlineTransport, attempt_deadline
from reseller_plans.webhooks.endpoints import Endpoint, url_without_credentials
from reseller_plans.webhooks.signing import signature_headers

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUTS",
    "USER_AGENT",
    "WebhookRequest",
    "WebhookSender",
    "build_request",
    "read_response",
]

USER_AGENT: Final = f"reseller-plans-webhooks/{__version__}"
"""The ``user-agent`` of every delivery."""

DEFAULT_TIMEOUTS: Final = Timeouts(connect=5.0, read=15.0, write=15.0, pool=5.0)
"""A receiver should answer at once and do its work later: 15 s is long enough."""

DEFAULT_DEADLINE: Final = 30.0
"""The longest one attempt takes, however slowly the receiver answers (seconds)."""

_log = get_logger("webhooks")
_EXCERPT_BYTES: Final = 1024  # read of a receiver's answer, the rest is left unread
_EXCERPT_CHARS: Final = 200
# As many keep-alive connections as connections, for the reason given in reseller_plans.http.
_POOL_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=100)


@attrs.frozen
class WebhookRequest:
    """One attempt's request, signed and ready to send.

    Attributes:
        endpoint_id: the endpoint it goes to.
        url: the endpoint's URL.
        event_id: the event's stable id (its ``webhook-id``).
        at: the signing instant (its ``webhook-timestamp``).
        body: the body bytes, exactly as signed.
        headers: the headers: the three Standard Webhooks ones, ``content-type`` and
            ``user-agent``.
    """

    endpoint_id: str
    url: str = attrs.field(repr=False)
    event_id: str
    at: dt.datetime
    body: bytes = attrs.field(repr=False)
    headers: Mapping[str, str] = attrs.field(repr=False)


def build_request(
    endpoint: Endpoint,
    event_id: str,
    body: bytes,
    *,
    at: dt.datetime,
    user_agent: str = USER_AGENT,
) -> WebhookRequest:
    """The signed request of one attempt to deliver ``body`` to ``endpoint`` at ``at``.

    Args:
        endpoint: where it goes; signed with each of its secrets valid at ``at``.
        event_id: the event's stable id, the same on every attempt.
        body: the body bytes (``render_envelope``), the same on every attempt.
        at: the signing instant, timezone-aware: now, for an attempt made now.
        user_agent: the ``user-agent`` header.

    Returns:
        The request.

    Raises:
        InvalidInput: an event id that cannot travel in a header, a body that is not bytes, or
            a naive instant.
    """
    if not isinstance(body, bytes):
        raise InvalidInput(f"a delivery's body is bytes, not {type(body).__name__}")
    headers = {
        **signature_headers(event_id, body, endpoint.signing_secrets(at), at=at),
        "content-type": "application/json",
        "user-agent": user_agent,
    }
    return WebhookRequest(endpoint.id, endpoint.url, event_id, at, body, headers)


def _excerpt(content: bytes | str) -> str:
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    text = " ".join(text.split())
    if len(text) > _EXCERPT_CHARS:
        text = text[:_EXCERPT_CHARS] + "…"
    return text


def read_response(
    status: int,
    headers: Mapping[str, str],
    content: bytes | str,
    *,
    at: dt.datetime,
    duration: float,
) -> AttemptResult:
    """What a receiver's answer means for the delivery.

    Args:
        status: the HTTP status.
        headers: the response headers (``retry-after`` is read, in any case).
        content: the start of the response body (an excerpt of it goes into the error).
        at: when the attempt was made.
        duration: seconds it took.

    Returns:
        Delivered for a 2xx, gone for a 410, failed otherwise, with the status, a redacted
        error text and the ``Retry-After`` seconds when the receiver sent one.
    """
    if 200 <= status < 300:
        return AttemptResult(AttemptOutcome.DELIVERED, at, status=status, duration=duration)
    lowered = {str(name).lower(): value for name, value in headers.items()}
    retry_after = parse_retry_after(lowered.get("retry-after"), now=at)
    excerpt = _excerpt(content)
    if status == 410:
        what = "HTTP 410 Gone: the endpoint asks never to be called again"
        outcome = AttemptOutcome.GONE
    else:
        what = f"HTTP {status}"
        if 300 <= status < 400:
            what += " (redirects are not followed: point the endpoint at the final URL)"
        outcome = AttemptOutcome.FAILED
    error = redact(f"{what}: {excerpt}" if excerpt else what)
    return AttemptResult(outcome, at, status=status, error=error, duration=duration,
                         retry_after=retry_after)  # fmt: skip


def _scrubbed(text: str, url: str) -> str:
    """``text`` without the URL's password, query or query values, should the receiver have
    echoed them in its answer."""
    parts = urlsplit(url)
    secrets = [parts.password, parts.query, *(v for _, v in parse_qsl(parts.query))]
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "[REDACTED]")
    return text


def _transport_error(exc: Exception, url: str) -> str:
    name = type(exc).__name__
    # The URL's query and user information may carry credentials: name it without them.
    detail = _excerpt(str(exc).replace(url, url_without_credentials(url)))
    if isinstance(exc, httpx.TimeoutException):
        what = f"timed out ({name})"
    elif isinstance(exc, httpx.TransportError):
        what = f"connection failed ({name}: {detail})" if detail else f"connection failed ({name})"
    else:
        what = f"{name}: {detail}" if detail else name
    return redact(what)


class WebhookSender:
    """Sends signed deliveries over HTTP, one attempt per call, and never raises for what the
    receiver does.

    Args:
        timeouts: connect, read, write and pool timeouts in seconds (ignored for an injected
            client).
        clock: where :meth:`deliver` takes the signing instant from.
        user_agent: the ``user-agent`` header.
        http_client: an ``httpx.Client`` to use; the caller keeps owning it.
        transport: an httpx transport for the client we make (tests, proxies).
        monotonic: the clock durations are measured on.
        deadline: the longest one attempt may take, connecting, sending and reading the answer
            included, in seconds: a receiver that drips its answer is cut off there (the
            attempt failed). Enforced by the client we make over its own transport; an
            injected client or transport keeps only its own timeouts.

    The client we make is closed by :meth:`close` (or the ``with`` block); it is safe to share
    between threads.

    Raises:
        InvalidInput: a deadline that is not a positive number of seconds.
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        clock: Clock | None = None,
        user_agent: str = USER_AGENT,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.perf_counter,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        if isinstance(deadline, bool) or not isinstance(deadline, int | float) or not deadline > 0:
            raise InvalidInput(f"deadline must be positive seconds, not {deadline!r}")
        self.deadline = float(deadline)
        """The longest one attempt may take, in seconds."""
        self._clock = clock or SystemClock()
        self._user_agent = user_agent
        self._monotonic = monotonic
        if http_client is not None:
            self._client = http_client
            self._owns_client = False
        else:
            self._client = httpx.Client(
                timeout=(timeouts or DEFAULT_TIMEOUTS).to_httpx(),
                transport=transport or DeadlineTransport(limits=_POOL_LIMITS),
                follow_redirects=False, limits=_POOL_LIMITS,
            )  # fmt: skip
            self._owns_client = True

    def deliver(
        self, endpoint: Endpoint, event_id: str, body: bytes, *, at: dt.datetime | None = None
    ) -> AttemptResult:
        """Sign ``body`` for ``endpoint`` now (or at ``at``) and send it: one attempt.

        Args:
            endpoint: where it goes.
            event_id: the event's stable id.
            body: the body bytes, the same on every attempt.
            at: the signing instant; the sender's clock when None.

        Returns:
            The attempt's result.

        Raises:
            InvalidInput: as :func:`build_request`.
        """
        when = self._clock.now() if at is None else at
        return self.send(build_request(endpoint, event_id, body, at=when,
                                       user_agent=self._user_agent))  # fmt: skip

    def send(self, request: WebhookRequest) -> AttemptResult:
        """POST one signed request and read its answer.

        Args:
            request: from :func:`build_request`.

        Returns:
            Delivered, gone or failed; never raises for a receiver's failure, a timeout or a
            connection that fails.
        """
        started = self._monotonic()
        try:
            with attempt_deadline(self.deadline), self._client.stream(
                "POST", request.url, content=request.body, headers=dict(request.headers),
                follow_redirects=False,
            ) as response:  # fmt: skip
                content = _read_start(response)
                status, headers = response.status_code, response.headers
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:  # a bad host name too
            duration = self._monotonic() - started
            error = _transport_error(exc, request.url)
            result = AttemptResult(AttemptOutcome.FAILED, request.at, error=error,
                                   duration=duration)  # fmt: skip
        else:
            duration = self._monotonic() - started
            result = read_response(status, headers, content, at=request.at, duration=duration)
        if result.error:
            result = attrs.evolve(result, error=_scrubbed(result.error, request.url))
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "webhook %s to endpoint %s -> %s (%s, %.1f ms)", request.event_id,
                request.endpoint_id, result.outcome.value,
                result.status if result.status is not None else result.error,
                result.duration * 1000.0,
            )  # fmt: skip
        return result

    def close(self) -> None:
        """Close the connections (an injected ``httpx.Client`` is left to its owner)."""
        if self._owns_client:
            self._client.close()

    @property
    def closed(self) -> bool:
        """True once the HTTP client is closed."""
        return self._client.is_closed

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WebhookSender(user_agent={self._user_agent!r})"


def _read_start(response: httpx.Response) -> bytes:
    """Up to the first KiB of the body; the answer's status counts even when this fails."""
    content = b""
    try:
        for chunk in response.iter_bytes():
            content += chunk
            if len(content) >= _EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        pass
    return content[:_EXCERPT_BYTES]
