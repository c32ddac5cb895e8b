"""One HTTP backend, spoken to once and for all: retries, authentication, errors, logging.

:class:`BackendClient` is the only code in the library that sends a request (the BSS and
Storefront adapters are thin layers over it). Per request it:

1. asks the :class:`Authenticator` for its headers and, on a 401, lets it refresh once and
   replays the request once (a second 401 is ``AuthenticationFailed``);
2. retries, with tenacity and a :class:`~reseller_plans.http.retry.RetryPolicy`, connection errors,
   timeouts, 429, 500, 502, 503, 504 and a rate-limit 403, but a write (POST, PATCH, DELETE) only
   when it carries an ``Idempotency-Key``, which is fixed before the first attempt and sent on
   every attempt;
3. honours ``Retry-After`` (seconds or HTTP-date) up to the policy's cap, and beyond it fails at
   once with ``TransientBackendError`` carrying ``retry_after``;
4. keeps the whole call, attempts and waits included, inside ``RetryPolicy.deadline``
   (:mod:`reseller_plans.http.deadline`), and marks every transient error it lets out
   ``retries_exhausted``;
5. raises :class:`~reseller_plans.domain.errors.OutcomeUnknown` for a write that may have acted
   but whose answer was lost (a reset or read timeout after sending, on any attempt), and for a
   write's 2xx that is not what it answers (:class:`Reply` knows it came from a write);
6. maps what is left into the domain error tree (``error_for_response``)
   and never lets an ``httpx`` exception, a ``KeyError`` or a ``ValueError`` out;
7. logs method, path, status, attempt and duration at DEBUG on ``reseller_plans.http``, redacted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final, NoReturn, Protocol, Self
from urllib.parse import quote, urlsplit

import attrs
import httpx
import tenacity

from reseller_plans.domain.errors import (
    OutcomeUnknown,
    PermanentBackendError,
    TransientBackendError,
)
from reseller_plans.http.deadline import CallDeadline
from reseller_plans.http.errors import (
    MalformedResponse,
    error_for_response,
    request_id_of,
)
from reseller_plans.http.payload import Payload
from reseller_plans.http.retry import (
    RETRYABLE_STATUSES,
    RateLimitDetector,
    RetryPolicy,
    parse_retry_after,
)
from reseller_plans.logs import Secret, get_logger
from reseller_plans.ports import Clock, SystemClock

__all__ = [
    "BackendAdapter",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENT_METHODS",
    "ApiKeyAuth",
    "Authenticator",
    "BackendClient",
    "Reply",
    "Timeouts",
    "path_segment",
]

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
"""The header that makes a write safe to repeat."""

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT"})
"""Methods retried without an idempotency key (PUT replaces a resource: repeating it is safe)."""

_log = get_logger("http")
_READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_USER_AGENT: Final = "reseller-plans"
# As many keep-alive connections as connections: the pool then never closes a "surplus" idle
# connection. httpcore 1.0.9's sync pool can close one it has just handed to a waiting thread
# (encode/httpcore#1110): with more threads than keep-alive slots (httpx's default is 20, a bulk
# run uses 32) a request then fails with "Bad file descriptor" or hangs until its read timeout.
_POOL_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=100)


def path_segment(value: str) -> str:
    """An id as one URL path segment, percent-encoded so that it cannot change the route.

    Args:
        value: the id.

    Returns:
        The encoded segment (``"a/b"`` → ``"a%2Fb"``).
    """
    return quote(str(value), safe="-._~")


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


class Authenticator(Protocol):
    """Puts credentials on requests, and refreshes them when the backend says 401."""

    def auth_headers(self) -> Mapping[str, str]:
        """Headers that authenticate a request (may fetch a token first)."""
        ...

    def refresh(self, used: Mapping[str, str]) -> bool:
        """The backend refused ``used``: drop it. Return True when a replay may succeed."""
        ...


class ApiKeyAuth:
    """A fixed API key in a header (the Storefront's ``X-ApiKey``).

    Args:
        api_key: the key.
        header: the header that carries it.
    """

    def __init__(self, api_key: str | Secret, *, header: str = "X-ApiKey") -> None:
        self._key = Secret(api_key)
        self._headers = {header: self._key.reveal()}

    def auth_headers(self) -> Mapping[str, str]:
        """The API key header.

        Returns:
            ``{header: key}``.
        """
        return self._headers

    def refresh(self, used: Mapping[str, str]) -> bool:
        """A refused API key does not get better by asking again.

        Args:
            used: the headers that were refused.

        Returns:
            False.
        """
        return False

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={next(iter(self._headers))!r})"


@attrs.frozen
class Reply:
    """A successful (or explicitly accepted) response, read in full.

    Attributes:
        status: the HTTP status.
        headers: the response headers (case-insensitive).
        content: the body.
        context: ``"<service> <METHOD> <path>"``, for messages.
        write: the reply answers a write: a body we cannot read is ``OutcomeUnknown`` (the
            write may have acted), not ``MalformedResponse``.
    """

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    content: bytes = attrs.field(repr=False)
    context: str
    write: bool = False

    @property
    def request_id(self) -> str | None:
        """The backend's request id, if it sent one."""
        return request_id_of(self.headers)

    def json(self) -> Any:
        """The body as JSON, checked to be JSON.

        Returns:
            The parsed value.

        Raises:
            MalformedResponse: the content type is not JSON, the body is empty or not valid JSON.
            OutcomeUnknown: the same, in the reply to a write.
        """
        content_type = self.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise self._malformed(f"expected JSON, got content type {media or 'none'!r}")
        if not self.content.strip():
            raise self._malformed("expected JSON, got an empty body")
        try:
            return json.loads(self.content)
        except (ValueError, RecursionError):
            raise self._malformed("the body is not valid JSON") from None

    def payload(self) -> Payload:
        """The body as a JSON object with typed reads.

        Returns:
            The :class:`Payload`.

        Raises:
            MalformedResponse: not JSON, or not a JSON object (``OutcomeUnknown`` for a write).
        """
        return Payload(self.json(), self.context, headers=self.headers, status=self.status,
                       write=self.write)  # fmt: skip

    def _malformed(self, what: str) -> MalformedResponse | OutcomeUnknown:
        cls = OutcomeUnknown if self.write else MalformedResponse
        return cls(
            f"{self.context}: malformed response: {what}",
            status=self.status,
            request_id=self.request_id,
        )


class _Retry(Exception):
    """Inside the retry loop: this attempt failed in a way worth another attempt."""

    def __init__(self, error: TransientBackendError, wait: float | None, acted: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.wait = wait
        self.acted = acted  # the request was sent and its answer lost: it may have acted


_ApiUserPlanDetector = Callable[[Mapping[str, str], str], bool]


def _never(_headers: Mapping[str, str], _body: str) -> bool:
    return False


class BackendClient:
    """Sends requests to one HTTP backend with retries, authentication and typed errors.

    Args:
        base_url: the backend's root, such as ``https://bss.example.com``; request paths are
            appended to it.
        service: the backend's name in messages and logs (``"BSS"``).
        headers: headers sent on every request (``X-Api-Version``).
        auth: puts credentials on requests; None for none.
        retry: the retry policy.
        timeouts: connect, read, write and pool timeouts (ignored for an injected client).
        clock: where time comes from (to read a ``Retry-After`` HTTP-date).
        rate_limit_detector: tells a rate-limit 403 from a refusal.
        api_user_plan_detector: tells a 403 on a write that means "the API user's plan may only
            read" (receives headers and body).
        http_client: an ``httpx.Client`` to use; the caller keeps owning it (we do not close it).
        transport: an httpx transport for a client we make and own (tests, proxies).

    The client we make is closed by :meth:`close` (or the ``with`` block). It is safe to share
    between threads; its pool keeps up to 100 connections, all of them reusable (keep-alive), so
    up to 100 threads can share it without any connection being closed and reopened.
    """

    def __init__(
        self,
        base_url: str,
        *,
        service: str = "backend",
        headers: Mapping[str, str] | None = None,
        auth: Authenticator | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        clock: Clock | None = None,
        rate_limit_detector: Callable[[Mapping[str, str], str], bool] | None = None,
        api_user_plan_detector: _ApiUserPlanDetector | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
        self._base = str(url).rstrip("/")
        self._origin = (url.scheme, url.host, url.port)
        self.service = service
        defaults = {"Accept": "application/json", "User-Agent": _USER_AGENT, **(headers or {})}
        self._auth = auth
        self.retry = retry or RetryPolicy()
        self._clock = clock or SystemClock()
        self._rate_limited = rate_limit_detector or RateLimitDetector()
        self._api_user_plan = api_user_plan_detector or _never
        if http_client is not None:
            self._client = http_client
            self._owns_client = False
            self._headers = defaults  # sent on each request: the client is not ours to change
        else:
            # Our own client carries the default headers, so requests do not merge them again.
            self._client = httpx.Client(
                timeout=(timeouts or Timeouts()).to_httpx(), transport=transport,
                follow_redirects=False, headers=defaults, limits=_POOL_LIMITS,
            )  # fmt: skip
            self._owns_client = True
            self._headers = {}
        self.deadline = CallDeadline(self.retry.deadline, self.retry.monotonic)
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry.max_attempts)
            | _PastDeadline(self.deadline),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retry),
            sleep=self.retry.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The backend's root URL."""
        return self._base

    @property
    def closed(self) -> bool:
        """True once the underlying ``httpx.Client`` is closed."""
        return self._client.is_closed

    def close(self) -> None:
        """Close the connections of the client we made (an injected client is left open)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> BackendClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BackendClient(service={self.service!r}, base_url={self._base!r})"

    # -- requests -----------------------------------------------------------------------------

    def url_for(self, path_or_url: str) -> str:
        """The absolute URL of a path, or an absolute URL checked to be on this backend.

        Args:
            path_or_url: ``/api/accounts`` or a ``links.next`` URL.

        Returns:
            The absolute URL.

        Raises:
            MalformedResponse: an absolute URL on another origin (we never send our
                credentials elsewhere).
        """
        if path_or_url.startswith(("http://", "https://")):
            url = httpx.URL(path_or_url)
            if (url.scheme, url.host, url.port) != self._origin:
                raise MalformedResponse(
                    f"{self.service}: refusing to follow a link to another origin "
                    f"({url.scheme}://{url.host})"
                )
            return path_or_url
        return self._base + (path_or_url if path_or_url.startswith("/") else "/" + path_or_url)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: object = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        retry_unsafe: bool = False,
        authenticate: bool = True,
        accept: Collection[int] = (),
    ) -> Reply:
        """Send one logical request, with retries, and return its reply.

        Args:
            method: the HTTP method.
            path: a path under the base URL, or an absolute URL on the same origin.
            params: query parameters.
            json_body: a JSON body (None for none).
            form: a form body (``application/x-www-form-urlencoded``).
            headers: extra headers for this request.
            idempotency_key: sent as ``Idempotency-Key`` on every attempt; makes a write
                retryable.
            retry_unsafe: retry a write without a key (only for requests that change nothing,
                such as a token grant).
            authenticate: put the authenticator's credentials on the request.
            accept: statuses besides 2xx to return rather than raise (``404`` to probe).

        Returns:
            The reply of the last attempt.

        Raises:
            OutcomeUnknown: a write was sent and its answer lost on some attempt, and no later
                attempt got an answer: it may have acted.
            TransientBackendError: a retryable failure outlived the retries or the deadline, or
                the backend asked to wait longer than the policy's cap
                (``retries_exhausted`` is True).
            PermanentBackendError: refused; ``AuthenticationFailed``, ``BackendForbidden``,
                ``BackendNotFound`` and ``MalformedResponse`` are the typed cases.
        """
        method = method.upper()
        url = self.url_for(path)
        extra = dict(headers or {})
        if idempotency_key is not None:
            extra[IDEMPOTENCY_HEADER] = idempotency_key
        can_retry = method in IDEMPOTENT_METHODS or idempotency_key is not None or retry_unsafe
        body: dict[str, Any] = {}
        if json_body is not None:
            body["json"] = json_body
        if form is not None:
            body["data"] = form
        write = method not in _READ_METHODS and not retry_unsafe
        call = _Call(method, url, _path_of(url, len(self._base)), params, body, extra,
                     can_retry, authenticate, frozenset(accept), write)  # fmt: skip
        acted = [False]
        with self.deadline.scope():
            try:
                return self._retried(call, acted)
            except TransientBackendError as error:
                error.retries_exhausted = True
                if acted[0] and not isinstance(error, OutcomeUnknown):
                    raise _unknown(error) from error
                raise

    def _retried(self, call: _Call, acted: list[bool]) -> Reply:
        # The first attempt runs outside tenacity: most requests succeed at once, and copying
        # and entering the retry loop costs ~10-20 us per request (a third of our own work per
        # request). When the attempt asks for a retry, tenacity takes over with that failure as
        # its attempt 1, so waits, logs and the stop apply exactly as if it had made them all.
        try:
            return self._attempt(call, 1)
        except _Retry as retry:
            first = retry
            acted[0] = retry.acted
        retrying = self._retrying.copy()
        number = 1
        try:
            for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number == 1:
                        raise first
                    try:
                        return self._attempt(call, number)
                    except _Retry as again:
                        acted[0] = acted[0] or again.acted
                        raise
        except _Retry as exhausted:
            error = exhausted.error
            limit = self.retry.max_attempts
            why = f"after {number} attempts" if number >= limit else "at the call's deadline"
            error.message = f"{error.message} (gave up {why}, {self.deadline.seconds:g} s)"
            error.args = (error.message,)
            raise error from exhausted.__cause__
        # tenacity ends with a result or an exception: this line is never reached.
        raise AssertionError("unreachable")  # pragma: no cover

    def get_payload(self, path: str, *, params: Mapping[str, str | int] | None = None) -> Payload:
        """GET a JSON object.

        Args:
            path: a path under the base URL, or a same-origin absolute URL.
            params: query parameters.

        Returns:
            The body as a :class:`Payload`.

        Raises:
            BackendError: as :meth:`request`; ``MalformedResponse`` when it is no JSON object.
        """
        return self.request("GET", path, params=params).payload()

    # -- one attempt --------------------------------------------------------------------------

    def _attempt(self, call: _Call, attempt: int) -> Reply:
        refreshed = False
        while True:
            headers = {**self._headers, **call.headers}
            used: Mapping[str, str] = {}
            if call.authenticate and self._auth is not None:
                used = self._auth.auth_headers()
                headers.update(used)
            started = time.perf_counter()
            response = self._send(call, headers, attempt, started)
            status = response.status_code
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug(
                    "%s %s %s -> %d (attempt %d, %.1f ms)", self.service, call.method, call.path,
                    status, attempt, (time.perf_counter() - started) * 1000.0,
                )  # fmt: skip
            if (
                status == 401
                and call.authenticate
                and self._auth is not None
                and not refreshed
                and self._auth.refresh(used)
            ):
                refreshed = True
                continue
            if 200 <= status < 300 or status in call.accept:
                return Reply(status, response.headers, response.content,
                             f"{self.service} {call.method} {call.path}", call.write)  # fmt: skip
            self._fail(call, response)

    def _send(
        self, call: _Call, headers: dict[str, str], attempt: int, started: float
    ) -> httpx.Response:
        if self.deadline.remaining() <= 0:
            message = f"{self.service} {call.method} {call.path}: the call's deadline passed"
            raise _Retry(TransientBackendError(message), None, False)
        try:
            return self._client.request(
                call.method, call.url, params=call.params, headers=headers,
                timeout=self.deadline.timeout(self._client.timeout), **call.body,
            )  # fmt: skip
        except httpx.TimeoutException as exc:
            self._transport_failed(call, attempt, started, f"timed out ({type(exc).__name__})",
                                   exc, transient=True)  # fmt: skip
        except (httpx.UnsupportedProtocol, httpx.ProxyError) as exc:
            self._transport_failed(call, attempt, started, type(exc).__name__, exc,
                                   transient=False)  # fmt: skip
        except httpx.TransportError as exc:
            self._transport_failed(call, attempt, started,
                                   f"connection failed ({type(exc).__name__})", exc,
                                   transient=True)  # fmt: skip
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            self._transport_failed(call, attempt, started, type(exc).__name__, exc,
                                   transient=False)  # fmt: skip

    def _transport_failed(
        self,
        call: _Call,
        attempt: int,
        started: float,
        what: str,
        cause: Exception,
        *,
        transient: bool,
    ) -> NoReturn:
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "%s %s %s -> %s (attempt %d, %.1f ms)", self.service, call.method, call.path,
                what, attempt, (time.perf_counter() - started) * 1000.0,
            )  # fmt: skip
        message = f"{self.service} {call.method} {call.path}: {what}"
        if not transient:
            raise PermanentBackendError(message) from cause
        # Sent, then the answer was lost: a write may have acted.
        acted = call.write and isinstance(cause, _ANSWER_LOST)
        error = TransientBackendError(message)
        if not call.can_retry:
            raise (_unknown(error) if acted else error) from cause
        raise _Retry(error, None, acted) from cause

    def _fail(self, call: _Call, response: httpx.Response) -> NoReturn:
        status = response.status_code
        text = response.text
        headers = response.headers
        rate_limited = status == 403 and self._rate_limited(headers, text)
        if status in RETRYABLE_STATUSES or rate_limited:
            retry_after = parse_retry_after(headers.get("retry-after"), now=self._clock.now())
            error = error_for_response(
                service=self.service, method=call.method, path=call.path, status=status,
                headers=headers, body=text, rate_limited=rate_limited, retry_after=retry_after,
            )  # fmt: skip
            assert isinstance(error, TransientBackendError)  # noqa: S101 - mapping contract
            beyond_cap = retry_after is not None and retry_after > self.retry.max_retry_after
            if beyond_cap or not call.can_retry:
                raise error
            raise _Retry(error, retry_after, False)
        is_write = call.method not in _READ_METHODS
        raise error_for_response(
            service=self.service, method=call.method, path=call.path, status=status,
            headers=headers, body=text,
            api_user_plan=status == 403 and is_write and self._api_user_plan(headers, text),
        )  # fmt: skip

    # -- tenacity hooks -----------------------------------------------------------------------

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, _Retry) and failure.wait is not None:
            return failure.wait
        return self.retry.backoff(state.attempt_number)

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        if not _log.isEnabledFor(logging.DEBUG):
            return
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        _log.debug("%s: retrying in %.2f s after attempt %d: %s", self.service, seconds,
                   state.attempt_number, failure)  # fmt: skip


class _PastDeadline(tenacity.stop.stop_base):
    """Stop when the next wait would end past the call's deadline (tenacity computes the wait
    before it asks whether to stop, so that wait is never made)."""

    def __init__(self, deadline: CallDeadline) -> None:
        self._deadline = deadline

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self._deadline.remaining()


# Raised once the request was written: the server may have received it and acted on it.
_ANSWER_LOST = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def _unknown(error: TransientBackendError) -> OutcomeUnknown:
    """``error`` as an unknown outcome: the write may have acted."""
    unknown = OutcomeUnknown(
        f"{error.message}: the write was sent and its answer lost, so it may have acted",
        status=error.status, request_id=error.request_id, body_excerpt=error.body_excerpt,
        retry_after=error.retry_after,
    )  # fmt: skip
    unknown.retries_exhausted = True
    return unknown


def _path_of(url: str, base_length: int) -> str:
    """The path of ``url`` for messages and logs (no query: it may carry anything)."""
    path = url[base_length:] if url.startswith("/", base_length) else urlsplit(url).path
    return path.split("?", 1)[0] or "/"


@attrs.frozen
class _Call:
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


class BackendAdapter:
    """What every HTTP adapter does with its ``BackendClient``: close it, say whether it is
    closed, and serve as a context manager that closes it."""

    backend: BackendClient

    @property
    def deadline(self) -> float:
        """The hard total of one call of this adapter, in seconds (``RetryPolicy.deadline``):
        all attempts, reads and waits. A saga step makes one call, so a lease that outlasts
        the longest adapter deadline (plus a margin) outlasts any step."""
        return self.backend.deadline.seconds

    def close(self) -> None:
        """Close the connections (an injected ``httpx.Client`` is left to its owner)."""
        self.backend.close()

    @property
    def closed(self) -> bool:
        """True once the HTTP client is closed."""
        return self.backend.closed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
