"""What puts credentials on a request: an :class:`Authenticator` for the sync backend client,
an :class:`AsyncAuthenticator` for the async one, and the fixed API key of both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from reseller_plans.logs import Secret

__all__ = ["ApiKeyAuth", "AsyncApiKeyAuth", "AsyncAuthenticator", "Authenticator"]


class Authenticator(Protocol):
    """Puts credentials on requests, and refreshes them when the backend says 401."""

    def auth_headers(self) -> Mapping[str, str]:
        """Headers that authenticate a request (may fetch a token first)."""
        ...

    def refresh(self, used: Mapping[str, str]) -> bool:
        """The backend refused ``used``: drop it. Return True when a replay may succeed."""
        ...


class AsyncAuthenticator(Protocol):
    """:class:`Authenticator` for the async backend client: the same two calls, awaited."""

    async def auth_headers(self) -> Mapping[str, str]:
        """Headers that authenticate a request (may fetch a token first)."""
        ...

    async def refresh(self, used: Mapping[str, str]) -> bool:
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


class AsyncApiKeyAuth:
    """:class:`ApiKeyAuth` for the async backend client (nothing to await: a key is fixed).

    Args:
        api_key: the key.
        header: the header that carries it.
    """

    def __init__(self, api_key: str | Secret, *, header: str = "X-ApiKey") -> None:
        self._key = ApiKeyAuth(api_key, header=header)

    async def auth_headers(self) -> Mapping[str, str]:
        """The API key header.

        Returns:
            ``{header: key}``.
        """
        return self._key.auth_headers()

    async def refresh(self, used: Mapping[str, str]) -> bool:
        """A refused API key does not get better by asking again.

        Args:
            used: the headers that were refused.

        Returns:
            False.
        """
        return False

    def __repr__(self) -> str:
        return f"Async{self._key!r}"
