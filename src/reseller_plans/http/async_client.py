"""The async twin of :class:`~reseller_plans.http.client.BackendClient`, over ``httpx.AsyncClient``.

:class:`AsyncBackendClient` drives the same :class:`~reseller_plans.http.core.BackendCore` as the
sync client: the request it builds, the retries tenacity decides, ``Retry-After``, the deadline,
the error mapping, redaction and logs are the same code. Only two things differ: the send is
awaited (``httpx.AsyncClient``), and so is the wait between attempts
(``RetryPolicy.async_sleep``, ``asyncio.sleep`` by default).

A task cancelled mid-request gets ``CancelledError`` at once: nothing is retried, the call's
deadline scope is left, and the connection goes back to (or out of) httpx's pool.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Self, TypeVar

import httpx

from reseller_plans.http.auth import AsyncAuthenticator
from reseller_plans.http.core import BackendCore
from reseller_plans.http.deadline import CallDeadline
from reseller_plans.http.payload import Payload
from reseller_plans.http.reply import Reply
from reseller_plans.http.retry import RetryPolicy
from reseller_plans.http.steps import USER_AGENT, Authenticate, Exchange, Flow, Request, Send, Sleep
from reseller_plans.http.timeouts import POOL_LIMITS, Timeouts
from reseller_plans.ports import Clock

__all__ = ["AsyncBackendAdapter", "AsyncBackendClient"]


_T = TypeVar("_T")


class AsyncBackendClient:
    """Sends requests to one HTTP backend with retries, authentication and typed errors, async.

    Args:
        base_url: the backend's root, such as ``https://bss.example.com``; request paths are
            appended to it.
        service: the backend's name in messages and logs (``"BSS"``).
        headers: headers sent on every request (``X-Api-Version``).
        auth: puts credentials on requests (awaited); None for none.
        retry: the retry policy (its ``async_sleep`` waits between attempts).
        timeouts: connect, read, write and pool timeouts (ignored for an injected client).
        clock: where time comes from (to read a ``Retry-After`` HTTP-date).
        rate_limit_detector: tells a rate-limit 403 from a refusal.
        api_user_plan_detector: tells a 403 on a write that means "the API user's plan may only
            read" (receives headers and body).
        http_client: an ``httpx.AsyncClient`` to use; the caller keeps owning it.
        transport: an httpx async transport for a client we make and own (tests, proxies).

    The client we make is closed by :meth:`close` (or the ``async with`` block). Its pool keeps
    up to 100 connections, all of them reusable (keep-alive), as the sync client's does.
    """

    def __init__(
        self,
        base_url: str,
        *,
        service: str = "backend",
        headers: Mapping[str, str] | None = None,
        auth: AsyncAuthenticator | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        clock: Clock | None = None,
        rate_limit_detector: Callable[[Mapping[str, str], str], bool] | None = None,
        api_user_plan_detector: Callable[[Mapping[str, str], str], bool] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
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
            self._client = httpx.AsyncClient(
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
        """True once the underlying ``httpx.AsyncClient`` is closed."""
        return self._client.is_closed

    async def close(self) -> None:
        """Close the connections of the client we made (an injected client is left open)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncBackendClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncBackendClient(service={self.service!r}, base_url={self.base_url!r})"

    # -- requests -----------------------------------------------------------------------------

    def url_for(self, path_or_url: str) -> str:
        """The absolute URL of a path, or an absolute URL checked to be on this backend.

        Args:
            path_or_url: ``/api/accounts`` or a ``links.next`` URL.

        Returns:
            The absolute URL.

        Raises:
            MalformedResponse: an absolute URL on another origin.
        """
        return self.core.url_for(path_or_url)

    async def request(
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

        The arguments, the reply and the errors are those of :meth:`BackendClient.request
        <reseller_plans.http.client.BackendClient.request>`.

        Returns:
            The reply of the last attempt.

        Raises:
            OutcomeUnknown: a write was sent and its answer lost, and no later attempt got an
                answer: it may have acted.
            TransientBackendError: a retryable failure outlived the retries or the deadline, or
                the backend asked to wait longer than the policy's cap.
            PermanentBackendError: refused; ``AuthenticationFailed``, ``BackendForbidden``,
                ``BackendNotFound`` and ``MalformedResponse`` are the typed cases.
        """
        call = self.core.call(
            method, path, params=params, json_body=json_body, form=form, headers=headers,
            idempotency_key=idempotency_key, retry_unsafe=retry_unsafe,
            authenticate=authenticate, accept=accept,
        )  # fmt: skip
        with self.core.deadline.scope():
            return await self._drive(self.core.exchange(call, self._client.timeout))

    async def _drive(self, steps: Exchange) -> Reply:
        # BackendClient._drive, awaiting the send, the wait and the authenticator. A
        # CancelledError (a BaseException) is not thrown in: it leaves at once, and closing the
        # steps unwinds the core without another attempt.
        outcome: object = None
        failure: Exception | None = None
        try:
            while True:
                step = steps.send(outcome) if failure is None else steps.throw(failure)
                outcome, failure = None, None
                try:
                    if type(step) is Send:
                        call = step.call
                        outcome = await self._client.request(
                            call.method, call.url, params=call.params, headers=step.headers,
                            timeout=step.timeout, **call.body,
                        )  # fmt: skip
                    elif type(step) is Authenticate:
                        outcome = await self._auth.auth_headers()  # type: ignore[union-attr]
                    elif type(step) is Sleep:
                        await self.core.retry.async_sleep(step.seconds)
                    else:
                        outcome = await self._auth.refresh(step.used)  # type: ignore[union-attr]
                except Exception as error:
                    failure = error
        except StopIteration as done:
            reply: Reply = done.value
            return reply
        finally:
            steps.close()

    async def send(self, request: Request) -> Reply:
        """Send one :class:`~reseller_plans.http.steps.Request` (as :meth:`request`).

        Args:
            request: the request.

        Returns:
            Its reply.

        Raises:
            BackendError: as :meth:`request`.
        """
        return await self.request(
            request.method, request.path, params=request.params, json_body=request.json_body,
            form=request.form, headers=request.headers, idempotency_key=request.idempotency_key,
            retry_unsafe=request.retry_unsafe, authenticate=request.authenticate,
            accept=request.accept,
        )  # fmt: skip

    async def run(self, flow: Flow[_T]) -> _T:
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
                        reply = await self.send(request)
                    except Exception as error:
                        failure = error
            except StopIteration as done:
                result: _T = done.value
                return result
            finally:
                flow.close()

    async def get_payload(
        self, path: str, *, params: Mapping[str, str | int] | None = None
    ) -> Payload:
        """GET a JSON object.

        Args:
            path: a path under the base URL, or a same-origin absolute URL.
            params: query parameters.

        Returns:
            The body as a :class:`~reseller_plans.http.payload.Payload`.

        Raises:
            BackendError: as :meth:`request`; ``MalformedResponse`` when it is no JSON object.
        """
        return (await self.request("GET", path, params=params)).payload()


class AsyncBackendAdapter:
    """What every async HTTP adapter does with its ``AsyncBackendClient``: close it, say whether
    it is closed, and serve as an async context manager that closes it."""

    backend: AsyncBackendClient

    @property
    def deadline(self) -> float:
        """The hard total of one call of this adapter, in seconds (``RetryPolicy.deadline``)."""
        return self.backend.deadline.seconds

    async def close(self) -> None:
        """Close the connections (an injected ``httpx.AsyncClient`` is left to its owner)."""
        await self.backend.close()

    @property
    def closed(self) -> bool:
        """True once the HTTP client is closed."""
        return self.backend.closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()
