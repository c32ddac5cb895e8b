"""The BSS's OAuth 2.0 password grant, and the bearer token it yields.

``POST /oauth/token`` with the form ``grant_type=password``, ``username``, ``password``; the client
key and secret travel **only** as HTTP Basic auth (the BSS refuses them in the form). The token
is cached until shortly before ``expires_in`` runs out (by the injected clock) and dropped when
the BSS answers 401, so the next request fetches a new one; concurrent callers share one fetch.

:class:`TokenCache` holds every decision (the grant request, reading its answer, expiry, which
refusal drops the token); :class:`PasswordGrant` (sync, a ``threading.Lock``) and
:class:`AsyncPasswordGrant` (async, an ``asyncio.Lock``) only send the grant and hold the lock,
so that one fetch or drop of the token happens at a time.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any

from reseller_plans.domain.errors import PermanentBackendError
from reseller_plans.http.async_client import AsyncBackendClient
from reseller_plans.http.client import BackendClient
from reseller_plans.http.errors import AuthenticationFailed, MalformedResponse
from reseller_plans.http.reply import Reply
from reseller_plans.logs import Secret, register_secret
from reseller_plans.ports import Clock

__all__ = ["AsyncPasswordGrant", "PasswordGrant", "TokenCache"]


class TokenCache:
    """The sans-IO half of the password grant: the request, the answer, the cached token.

    Args: as :class:`PasswordGrant`.
    """

    def __init__(
        self,
        *,
        client_key: str | Secret,
        client_secret: str | Secret,
        username: str,
        password: str | Secret,
        clock: Clock,
        token_path: str,
        default_lifetime: float,
        refresh_margin: float,
    ) -> None:
        key, secret = Secret(client_key), Secret(client_secret)
        basic = base64.b64encode(f"{key.reveal()}:{secret.reveal()}".encode()).decode("ascii")
        register_secret(basic)
        self._basic = Secret(f"Basic {basic}")
        self.username = username
        self._password = Secret(password)
        self._clock = clock
        self.token_path = token_path
        self._default_lifetime = default_lifetime
        self._margin = refresh_margin
        self._header: dict[str, str] | None = None
        self._expires_at: dt.datetime | None = None
        self.fetches = 0

    def valid(self) -> dict[str, str] | None:
        """The cached ``Authorization`` header, or None when there is none or it expired."""
        header, expires_at = self._header, self._expires_at
        if header is None or expires_at is None or self._clock.now() >= expires_at:
            return None
        return header

    def grant_request(self) -> dict[str, Any]:
        """The keyword arguments of the backend client's ``request`` that asks for a token."""
        return {
            "method": "POST",
            "path": self.token_path,
            "form": {"grant_type": "password", "username": self.username,
                     "password": self._password.reveal()},
            "headers": {"Authorization": self._basic.reveal()},
            "authenticate": False,
            "retry_unsafe": True,  # a token grant changes nothing: safe to repeat
        }  # fmt: skip

    def refused(self, error: PermanentBackendError, service: str) -> PermanentBackendError:
        """The error to raise when the grant request failed with ``error``."""
        if isinstance(error, MalformedResponse | AuthenticationFailed):
            return error
        if error.status in (400, 401, 403):
            return AuthenticationFailed(
                f"{service}: the token request was refused: check the client key and secret "
                f"and the API user's name and password ({error.message})",
                status=error.status,
                request_id=error.request_id,
                body_excerpt=error.body_excerpt,
            )
        return error

    def granted(self, reply: Reply) -> dict[str, str]:
        """Read the grant's answer, cache its token, and return its header.

        Raises:
            MalformedResponse: no usable ``access_token``.
        """
        payload = reply.payload()
        token = payload.text("access_token")
        if not token.strip():
            raise payload.malformed("member 'access_token' is empty")
        register_secret(token)
        lifetime = payload.number("expires_in", default=self._default_lifetime)
        trusted = lifetime - self._margin if lifetime > self._margin else lifetime / 2
        self._header = {"Authorization": f"Bearer {token}"}
        self._expires_at = self._clock.now() + dt.timedelta(seconds=trusted)
        self.fetches += 1
        return self._header

    def drop(self, used: Mapping[str, str]) -> None:
        """The backend refused ``used``: forget the cached token if it is that one."""
        if self._header is not None and used.get("Authorization") == self._header.get(
            "Authorization"
        ):
            self._header = None
            self._expires_at = None


class PasswordGrant:
    """Bearer tokens from the OAuth 2.0 password grant, cached by expiry.

    Args:
        client_key: the API client key (HTTP Basic user).
        client_secret: the API client secret (HTTP Basic password).
        username: the application user.
        password: its password.
        clock: where time comes from.
        token_path: the token endpoint's path.
        default_lifetime: seconds to trust a token that comes without ``expires_in``.
        refresh_margin: renew this many seconds before the token expires.

    Call :meth:`bind` with the backend that serves the token endpoint before use.
    """

    def __init__(
        self,
        *,
        client_key: str | Secret,
        client_secret: str | Secret,
        username: str,
        password: str | Secret,
        clock: Clock,
        token_path: str = "/oauth/token",  # noqa: S107 - a route, not a password
        default_lifetime: float = 300.0,
        refresh_margin: float = 30.0,
    ) -> None:
        self._cache = TokenCache(
            client_key=client_key, client_secret=client_secret, username=username,
            password=password, clock=clock, token_path=token_path,
            default_lifetime=default_lifetime, refresh_margin=refresh_margin,
        )  # fmt: skip
        self._lock = threading.Lock()
        self._backend: BackendClient | None = None

    @property
    def fetches(self) -> int:
        """How many tokens were fetched (for tests and metrics)."""
        return self._cache.fetches

    def bind(self, backend: BackendClient) -> None:
        """Use ``backend`` to reach the token endpoint.

        Args:
            backend: the BSS backend client.
        """
        self._backend = backend

    def auth_headers(self) -> Mapping[str, str]:
        """``Authorization: Bearer <token>``, fetching a token when none is valid.

        Returns:
            The header.

        Raises:
            AuthenticationFailed: the BSS refused the credentials.
            BackendError: the token endpoint failed otherwise.
        """
        with self._lock:
            return self._cache.valid() or self._fetch()

    def refresh(self, used: Mapping[str, str]) -> bool:
        """The BSS refused ``used``: forget that token so the next request fetches another.

        Args:
            used: the headers of the refused request.

        Returns:
            True (a replay with a fresh token may succeed).
        """
        with self._lock:
            self._cache.drop(used)
        return True

    def _fetch(self) -> dict[str, str]:
        backend = self._backend
        if backend is None:
            raise RuntimeError("PasswordGrant.bind() was not called")
        try:
            reply = backend.request(**self._cache.grant_request())
        except PermanentBackendError as exc:
            error = self._cache.refused(exc, backend.service)
            if error is exc:
                raise
            raise error from None
        return self._cache.granted(reply)

    def __repr__(self) -> str:
        return (
            f"PasswordGrant(username={self._cache.username!r}, "
            f"token_path={self._cache.token_path!r})"
        )


class AsyncPasswordGrant:
    """:class:`PasswordGrant` for the async BSS client: the same cache, an awaited fetch, and an
    ``asyncio.Lock`` so that concurrent tasks share one fetch.

    Args: as :class:`PasswordGrant`. Call :meth:`bind` with the ``AsyncBackendClient`` that
    serves the token endpoint before use.
    """

    def __init__(
        self,
        *,
        client_key: str | Secret,
        client_secret: str | Secret,
        username: str,
        password: str | Secret,
        clock: Clock,
        token_path: str = "/oauth/token",  # noqa: S107 - a route, not a password
        default_lifetime: float = 300.0,
        refresh_margin: float = 30.0,
    ) -> None:
        self._cache = TokenCache(
            client_key=client_key, client_secret=client_secret, username=username,
            password=password, clock=clock, token_path=token_path,
            default_lifetime=default_lifetime, refresh_margin=refresh_margin,
        )  # fmt: skip
        self._lock = asyncio.Lock()
        self._backend: AsyncBackendClient | None = None

    @property
    def fetches(self) -> int:
        """How many tokens were fetched (for tests and metrics)."""
        return self._cache.fetches

    def bind(self, backend: AsyncBackendClient) -> None:
        """Use ``backend`` to reach the token endpoint.

        Args:
            backend: the async BSS backend client.
        """
        self._backend = backend

    async def auth_headers(self) -> Mapping[str, str]:
        """``Authorization: Bearer <token>``, fetching a token when none is valid; tasks that
        ask meanwhile wait for that fetch rather than start their own.

        Returns:
            The header.

        Raises:
            AuthenticationFailed: the BSS refused the credentials.
            BackendError: the token endpoint failed otherwise.
        """
        async with self._lock:
            return self._cache.valid() or await self._fetch()

    async def refresh(self, used: Mapping[str, str]) -> bool:
        """The BSS refused ``used``: forget that token so the next request fetches another.

        Args:
            used: the headers of the refused request.

        Returns:
            True (a replay with a fresh token may succeed).
        """
        async with self._lock:
            self._cache.drop(used)
        return True

    async def _fetch(self) -> dict[str, str]:
        backend = self._backend
        if backend is None:
            raise RuntimeError("AsyncPasswordGrant.bind() was not called")
        try:
            reply = await backend.request(**self._cache.grant_request())
        except PermanentBackendError as exc:
            error = self._cache.refused(exc, backend.service)
            if error is exc:
                raise
            raise error from None
        # Cancelled while the grant was in flight: nothing was cached, the lock is released.
        return self._cache.granted(reply)

    def __repr__(self) -> str:
        return (
            f"AsyncPasswordGrant(username={self._cache.username!r}, "
            f"token_path={self._cache.token_path!r})"
        )
