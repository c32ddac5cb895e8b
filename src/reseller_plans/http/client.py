"""One HTTP backend, spoken to once and for all: retries, authentication, errors, logging.

:class:`BackendClient` is the only sync code in the library that sends a request (the BSS and
Storefront adapters are thin layers over it). It is a driver of
:class:`~reseller_plans.http.core.BackendCore`, which decides everything; the driver only sends
and sleeps (its async twin is :class:`~reseller_plans.http.async_client.AsyncBackendClient`).
Per request:

1. the :class:`Authenticator` gives its headers and, on a 401, may refresh once; the request is
   then replayed once (a second 401 is ``AuthenticationFailed``);
2. connection errors, timeouts, 429, 500, 502, 503, 504 and a rate-limit 403 are retried, with
   tenacity and a :class:`~reseller_plans.http.retry.RetryPolicy`, but a write (POST, PATCH,
   DELETE) only when it carries an ``Idempotency-Key``, which is fixed before the first attempt
   and sent on every attempt;
3. ``Retry-After`` (seconds or HTTP-date) is honoured up to the policy's cap; beyond it the call
   fails at once with ``TransientBackendError`` carrying ``retry_after``;
4. the whole call, attempts and waits included, stays inside ``RetryPolicy.deadline``
   (:mod:`reseller_plans.http.deadline`), and every transient error let out is marked
   ``retries_exhausted``;
5. a write that may have acted but whose answer was lost (a reset or read timeout after sending,
   on any attempt), or whose 2xx is not what it answers, raises
   :class:`~reseller_plans.domain.errors.OutcomeUnknown`;
6. what is left is mapped into the domain error tree (``error_for_response``): no ``httpx``
   exception, ``KeyError`` or ``ValueError`` gets out;
7. method, path, status, attempt and duration are logged at DEBUG on ``reseller_plans.http``,
   redacted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Self, TypeVar

import httpx

from reseller_plans.http.auth import ApiKeyAuth, Authenticator
from reseller_plans.http.core import BackendCore
from reseller_plans.http.deadline import CallDeadline
from reseller_plans.http.payload import Payload
from reseller_plans.http.reply import Reply
from reseller_plans.http.retry import RetryPolicy
from reseller_plans.http.steps import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENT_METHODS,
    USER_AGENT,
    Authenticate,
    Exchange,
    Flow,
    Request,
    Send,
    Sleep,
    path_segment,
)
from reseller_plans.http.timeouts import POOL_LIMITS, Timeouts
from reseller_plans.ports import Clock

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


_T = TypeVar("_T")


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
        api_user_plan_detector: Callable[[Mapping[str, str], str], bool] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.core = BackendCore(
            base_url, service=service, authenticated=auth is not None, retry=retry, clock=clock,
            rate_limit_detector=rate_limit_detector, api_user_plan_detector=api_user_plan_detector,
        )  # fmt: skip
        self._auth = auth
        defaults = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        if http_client is not None:
            self._client = http_client
            self._owns_client = False
            self.core.headers = defaults  # sent on each request: the client is not ours to change
        else:
            # Our own client carries the default headers, so requests do not merge them again.
            self._client = httpx.Client(
                timeout=(timeouts or Timeouts()).to_httpx(), transport=transport,
                follow_redirects=False, headers=defaults, limits=POOL_LIMITS,
            )  # fmt: skip
            self._owns_client = True

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def service(self) -> str:
        """The backend's name in messages and logs."""
        return self.core.service

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy."""
        return self.core.retry

    @property
    def deadline(self) -> CallDeadline:
        """The deadline of one call (adapters open a scope around calls of several requests)."""
        return self.core.deadline

    @property
    def base_url(self) -> str:
        """The backend's root URL."""
        return self.core.base

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
        return f"BackendClient(service={self.service!r}, base_url={self.base_url!r})"

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
        return self.core.url_for(path_or_url)

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
        call = self.core.call(
            method, path, params=params, json_body=json_body, form=form, headers=headers,
            idempotency_key=idempotency_key, retry_unsafe=retry_unsafe,
            authenticate=authenticate, accept=accept,
        )  # fmt: skip
        with self.core.deadline.scope():
            return self._drive(self.core.exchange(call, self._client.timeout))

    def _drive(self, steps: Exchange) -> Reply:
        # The whole driver: perform each step the core asks for, hand the outcome back (an
        # exception is thrown in, where the core classifies it), until the core returns.
        outcome: object = None
        failure: Exception | None = None
        try:
            while True:
                step = steps.send(outcome) if failure is None else steps.throw(failure)
                outcome, failure = None, None
                try:
                    if type(step) is Send:
                        call = step.call
                        outcome = self._client.request(
                            call.method, call.url, params=call.params, headers=step.headers,
                            timeout=step.timeout, **call.body,
                        )  # fmt: skip
                    elif type(step) is Authenticate:
                        outcome = self._auth.auth_headers()  # type: ignore[union-attr]
                    elif type(step) is Sleep:
                        self.core.retry.sleep(step.seconds)
                    else:
                        outcome = self._auth.refresh(step.used)  # type: ignore[union-attr]
                except Exception as error:
                    failure = error
        except StopIteration as done:
            reply: Reply = done.value
            return reply
        finally:
            steps.close()

    def send(self, request: Request) -> Reply:
        """Send one :class:`~reseller_plans.http.steps.Request` (as :meth:`request`).

        Args:
            request: the request.

        Returns:
            Its reply.

        Raises:
            BackendError: as :meth:`request`.
        """
        return self.request(
            request.method, request.path, params=request.params, json_body=request.json_body,
            form=request.form, headers=request.headers, idempotency_key=request.idempotency_key,
            retry_unsafe=request.retry_unsafe, authenticate=request.authenticate,
            accept=request.accept,
        )  # fmt: skip

    def run(self, flow: Flow[_T]) -> _T:
        """Perform an adapter call: send each request it yields, under one deadline.

        Args:
            flow: the call's steps; a request's error is thrown into it, where it may be
                caught (a refusal that means "already done").

        Returns:
            What the flow returns.

        Raises:
            BackendError: what the flow lets out.
        """
        reply: Reply | None = None
        failure: Exception | None = None
        with self.core.deadline.scope():
            try:
                while True:
                    request = flow.send(reply) if failure is None else flow.throw(failure)  # type: ignore[arg-type]
                    reply, failure = None, None
                    try:
                        reply = self.send(request)
                    except Exception as error:
                        failure = error
            except StopIteration as done:
                result: _T = done.value
                return result
            finally:
                flow.close()

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
