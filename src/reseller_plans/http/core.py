"""The sans-IO half of a backend client: every decision of a request, and no I/O.

:class:`BackendCore` builds a request (:class:`Call`), and runs one logical request as a
generator of *steps* (:data:`Exchange`) that a driver performs:

- :class:`Authenticate`: the driver answers with the authenticator's headers;
- :class:`Send`: the driver sends the request and answers with the ``httpx.Response``, or
  throws the ``httpx`` exception the send raised into the generator;
- :class:`Refresh`: the backend said 401; the driver answers whether the authenticator
  refreshed (a replay may succeed);
- :class:`Sleep`: the driver waits that many seconds before the next attempt.

The generator returns the :class:`~reseller_plans.http.reply.Reply`, or raises the domain error.
Everything else (what is retried, the waits tenacity computes, ``Retry-After``, the deadline's
bookkeeping, the error mapping and redaction, ``OutcomeUnknown``, the debug log lines) is decided
here once, so the sync driver (:class:`~reseller_plans.http.client.BackendClient`) and the async
one (:class:`~reseller_plans.http.async_client.AsyncBackendClient`) cannot drift: they differ
only in how they send and how they sleep, as httpcore's ``_sync`` and ``_async`` twins do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

import httpx
import tenacity

from reseller_plans.domain.errors import (
    OutcomeUnknown,
    PermanentBackendError,
    TransientBackendError,
)
from reseller_plans.http.deadline import CallDeadline
from reseller_plans.http.errors import MalformedResponse, error_for_response
from reseller_plans.http.reply import Reply
from reseller_plans.http.retry import (
    RETRYABLE_STATUSES,
    RateLimitDetector,
    RetryPolicy,
    parse_retry_after,
)
from reseller_plans.http.steps import (
    AUTHENTICATE,
    IDEMPOTENCY_HEADER,
    IDEMPOTENT_METHODS,
    Call,
    Exchange,
    Refresh,
    Send,
    Sleep,
)
from reseller_plans.logs import get_logger
from reseller_plans.ports import Clock, SystemClock

__all__ = ["BackendCore"]

_log = get_logger("http")
_READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
# Raised once the request was written: the server may have received it and acted on it.
_ANSWER_LOST = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
# What a send may raise that we map (anything else is a bug of ours or of httpx: it goes out).
_SEND_ERRORS: Final = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)

_Detector = Callable[[Mapping[str, str], str], bool]


class _Retry(Exception):
    """Inside the retry loop: this attempt failed in a way worth another attempt."""

    def __init__(self, error: TransientBackendError, wait: float | None, acted: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.wait = wait
        self.acted = acted  # the request was sent and its answer lost: it may have acted


def _never(_headers: Mapping[str, str], _body: str) -> bool:
    return False


class BackendCore:
    """What a backend client decides, for both drivers.

    Args:
        base_url: the backend's root (request paths are appended to it).
        service: the backend's name in messages and logs.
        authenticated: an authenticator will answer :class:`Authenticate` and
            :class:`Refresh` steps.
        retry: the retry policy.
        clock: where time comes from (a ``Retry-After`` HTTP-date).
        rate_limit_detector: tells a rate-limit 403 from a refusal.
        api_user_plan_detector: tells a 403 on a write that means "the API user's plan may only
            read".

    Raises:
        ValueError: ``base_url`` is not an http(s) URL with a host.
    """

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        authenticated: bool,
        retry: RetryPolicy | None,
        clock: Clock | None,
        rate_limit_detector: _Detector | None,
        api_user_plan_detector: _Detector | None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
        self.base = str(url).rstrip("/")
        self._origin = (url.scheme, url.host, url.port)
        self.service = service
        self._authenticated = authenticated
        self.retry = retry or RetryPolicy()
        self._clock = clock or SystemClock()
        self._rate_limited = rate_limit_detector or RateLimitDetector()
        self._api_user_plan = api_user_plan_detector or _never
        self.deadline = CallDeadline(self.retry.deadline, self.retry.monotonic)
        self.headers: dict[str, str] = {}
        """Headers sent on every request by the driver (when its client does not carry them)."""
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry.max_attempts)
            | _PastDeadline(self.deadline),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retry),
            before_sleep=self._before_sleep,
            reraise=True,
        )

    # -- building -----------------------------------------------------------------------------

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
        return self.base + (path_or_url if path_or_url.startswith("/") else "/" + path_or_url)

    def call(
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
    ) -> Call:
        """The :class:`Call` of one logical request (the drivers' ``request`` arguments).

        Returns:
            The call every attempt sends.

        Raises:
            MalformedResponse: ``path`` is an absolute URL on another origin.
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
        return Call(method, url, _path_of(url, len(self.base)), params, body, extra,
                    can_retry, authenticate, frozenset(accept), write)  # fmt: skip

    # -- one logical request ------------------------------------------------------------------

    def exchange(self, call: Call, base_timeout: httpx.Timeout) -> Exchange:
        """Run ``call`` as steps, retries included (the driver holds the deadline's scope).

        Args:
            call: the request.
            base_timeout: the client's timeouts, cut to the deadline on each attempt.

        Returns:
            The steps; the generator returns the reply of the last attempt.

        Raises:
            OutcomeUnknown: a write was sent and its answer lost on some attempt, and no later
                attempt got an answer.
            TransientBackendError: a retryable failure outlived the retries or the deadline, or
                the backend asked to wait longer than the policy's cap.
            PermanentBackendError: refused, or a failure retrying cannot fix.
        """
        acted = [False]
        try:
            return (yield from self._retried(call, base_timeout, acted))
        except TransientBackendError as error:
            error.retries_exhausted = True
            if acted[0] and not isinstance(error, OutcomeUnknown):
                raise _unknown(error) from error
            raise

    def _retried(self, call: Call, base_timeout: httpx.Timeout, acted: list[bool]) -> Exchange:
        # The first attempt runs outside tenacity: most requests succeed at once, and copying
        # and entering the retry loop costs ~10-20 us per request. When the attempt asks for a
        # retry, tenacity takes over with that failure as its attempt 1, so waits, logs and the
        # stop apply exactly as if it had made them all. Tenacity is driven by hand (its
        # ``iter`` is the decision ``Retrying.__iter__`` makes): it decides, the driver sleeps.
        try:
            return (yield from self._attempt(call, base_timeout, 1))
        except _Retry as retry:
            first = retry
        acted[0] = first.acted
        retrying = self._retrying.copy()
        retrying.begin()
        state = tenacity.RetryCallState(retrying, fn=None, args=(), kwargs={})
        retrying.iter(state)  # attempt 1: the one made above
        state.set_exception((_Retry, first, first.__traceback__))
        try:
            while True:
                action = retrying.iter(state)  # raises the last failure when it stops
                if isinstance(action, tenacity.DoSleep):
                    state.prepare_for_next_attempt()
                    yield Sleep(float(action))
                    continue
                try:
                    return (yield from self._attempt(call, base_timeout, state.attempt_number))
                except Exception as failure:  # tenacity decides: _Retry again, anything else out
                    if isinstance(failure, _Retry):
                        acted[0] = acted[0] or failure.acted
                    state.set_exception((type(failure), failure, failure.__traceback__))
        except _Retry as exhausted:
            error = exhausted.error
            limit = self.retry.max_attempts
            number = state.attempt_number
            why = f"after {number} attempts" if number >= limit else "at the call's deadline"
            error.message = f"{error.message} (gave up {why}, {self.deadline.seconds:g} s)"
            error.args = (error.message,)
            raise error from exhausted.__cause__

    def _attempt(self, call: Call, base_timeout: httpx.Timeout, attempt: int) -> Exchange:
        refreshed = False
        authenticated = call.authenticate and self._authenticated
        while True:
            headers = {**self.headers, **call.headers}
            used: Mapping[str, str] = {}
            if authenticated:
                used = yield AUTHENTICATE
                headers.update(used)
            started = time.perf_counter()
            if self.deadline.remaining() <= 0:
                message = f"{self.service} {call.method} {call.path}: the call's deadline passed"
                raise _Retry(TransientBackendError(message), None, False)
            try:
                response: httpx.Response = yield Send(
                    call, headers, self.deadline.timeout(base_timeout)
                )
            except _SEND_ERRORS as exc:
                self._transport_failed(call, attempt, started, exc)
            status = response.status_code
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug(
                    "%s %s %s -> %d (attempt %d, %.1f ms)", self.service, call.method, call.path,
                    status, attempt, (time.perf_counter() - started) * 1000.0,
                )  # fmt: skip
            if status == 401 and authenticated and not refreshed and (yield Refresh(used)):
                refreshed = True
                continue
            if 200 <= status < 300 or status in call.accept:
                return Reply(status, response.headers, response.content,
                             f"{self.service} {call.method} {call.path}", call.write)  # fmt: skip
            self._fail(call, response)

    # -- classifying failures -----------------------------------------------------------------

    def _transport_failed(
        self, call: Call, attempt: int, started: float, cause: Exception
    ) -> NoReturn:
        if isinstance(cause, httpx.TimeoutException):
            what, transient = f"timed out ({type(cause).__name__})", True
        elif isinstance(cause, httpx.UnsupportedProtocol | httpx.ProxyError):
            what, transient = type(cause).__name__, False
        elif isinstance(cause, httpx.TransportError):
            what, transient = f"connection failed ({type(cause).__name__})", True
        else:
            what, transient = type(cause).__name__, False
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

    def _fail(self, call: Call, response: httpx.Response) -> NoReturn:
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
