"""The BSS's OAuth 2.0 password grant, and the bearer token it yields.

``POST /oauth/token`` with the form ``grant_type=password``, ``username``, ``password``; the client
key and secret travel **only** as HTTP Basic auth (the BSS refuses them in the form). The token
is cached until shortly before ``expires_in`` runs out (by the injected clock) and dropped when
the BSS answers 401, so the next request fetches a new one; concurrent callers share one fetch.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Mapping

from reseller_plans.domain.errors import PermanentBackendError
from reseller_plans.http.client import BackendClient
from reseller_plans.http.errors import AuthenticationFailed, MalformedResponse
from reseller_plans.logs import Secret, register_secret
from reseller_plans.ports import Clock

__all__ = ["PasswordGrant"]


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
        key, secret = Secret(client_key), Secret(client_secret)
        basic = base64.b64encode(f"{key.reveal()}:{secret.reveal()}".encode()).decode("ascii")
        register_secret(basic)
        self._basic = Secret(f"Basic {basic}")
        self._username = username
        self._password = Secret(password)
        self._clock = clock
        self._token_path = token_path
        self._default_lifetime = default_lifetime
        self._margin = refresh_margin
        self._lock = threading.Lock()
        self._header: dict[str, str] | None = None
        self._expires_at: dt.datetime | None = None
        self._backend: BackendClient | None = None
        self.fetches = 0
        """How many tokens were fetched (for tests and metrics)."""

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
            header, expires_at = self._header, self._expires_at
            if header is None or expires_at is None or self._clock.now() >= expires_at:
                header = self._fetch()
            return header

    def refresh(self, used: Mapping[str, str]) -> bool:
        """The BSS refused ``used``: forget that token so the next request fetches another.

        Args:
            used: the headers of the refused request.

        Returns:
            True (a replay with a fresh token may succeed).
        """
        with self._lock:
            if self._header is not None and used.get("Authorization") == self._header.get(
                "Authorization"
            ):
                self._header = None
                self._expires_at = None
        return True

    def _fetch(self) -> dict[str, str]:
        backend = self._backend
        if backend is None:
            raise RuntimeError("PasswordGrant.bind() was not called")
        form = {
            "grant_type": "password",
            "username": self._username,
            "password": self._password.reveal(),
        }
        try:
            reply = backend.request(
                "POST",
                self._token_path,
                form=form,
                headers={"Authorization": self._basic.reveal()},
                authenticate=False,
                retry_unsafe=True,  # a token grant changes nothing: safe to repeat
            )
        except (MalformedResponse, AuthenticationFailed):
            raise
        except PermanentBackendError as exc:
            if exc.status in (400, 401, 403):
                raise AuthenticationFailed(
                    f"{backend.service}: the token request was refused: check the client key "
                    f"and secret and the API user's name and password ({exc.message})",
                    status=exc.status,
                    request_id=exc.request_id,
                    body_excerpt=exc.body_excerpt,
                ) from None
            raise
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

    def __repr__(self) -> str:
        return f"PasswordGrant(username={self._username!r}, token_path={self._token_path!r})"
