"""How an HTTP response that is not a success becomes an error of the domain tree.

The mapping (``error_for_response``):

=====================================  =====================================================
response                               error
=====================================  =====================================================
401 (after one token refresh)          :class:`AuthenticationFailed` (a ``PermanentBackendError``)
403 that is not a rate limit           :class:`BackendForbidden` (a ``Forbidden``)
404                                    :class:`BackendNotFound` (a ``NotFound``)
429, 5xx, rate-limit 403               ``TransientBackendError`` (once retries are exhausted)
any other 4xx                          ``PermanentBackendError``
unreadable body, missing member        :class:`MalformedResponse` (a ``PermanentBackendError``)
=====================================  =====================================================

``BackendForbidden`` and ``BackendNotFound`` are also ``PermanentBackendError``, so they carry
``status``, ``request_id`` and ``body_excerpt`` like every backend error, and a caller who
catches ``Forbidden``/``NotFound`` and one who catches ``PermanentBackendError`` both see them.

The body excerpt is redacted (:func:`reseller_plans.logs.redact`) and at most 200 characters;
the error's message names the first of ``message``/``Message``/``error_description``/``title``
found in a JSON body (the BSS does not document the schema of its error bodies).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reseller_plans.domain.errors import (
    BackendError,
    Forbidden,
    NotFound,
    PermanentBackendError,
    TransientBackendError,
)
from reseller_plans.logs import redact

__all__ = [
    "API_USER_PLAN_MESSAGE",
    "EXCERPT_LIMIT",
    "REQUEST_ID_HEADERS",
    "AuthenticationFailed",
    "BackendForbidden",
    "BackendNotFound",
    "MalformedResponse",
    "body_excerpt",
    "error_for_response",
    "error_message_of",
    "request_id_of",
]

EXCERPT_LIMIT = 200
"""The longest body excerpt an error carries, in characters."""

REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id")
"""Headers that may carry the backend's request id, first found wins."""

_MESSAGE_MEMBERS = ("message", "Message", "error_description", "title")

API_USER_PLAN_MESSAGE = (
    "the plan of this API user does not allow this: a reseller API user on the Free plan may "
    "only read (creating or executing orders and cancelling subscriptions needs the Standard plan)"
)


class MalformedResponse(PermanentBackendError):
    """The backend answered something we cannot read: not JSON, wrong content type, a member
    missing or of the wrong type."""


class AuthenticationFailed(PermanentBackendError):
    """The backend refused our credentials (401 even with a fresh token, or a refused token
    request)."""


class BackendForbidden(Forbidden, PermanentBackendError):
    """The backend refused the request (403 that is not a rate limit).

    Attributes:
        api_user_plan: True when the refusal is because the API user's plan (Free) may only
            read; the message then says so.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        body_excerpt: str | None = None,
        api_user_plan: bool = False,
    ) -> None:
        self.api_user_plan = api_user_plan
        super().__init__(message, status=status, request_id=request_id, body_excerpt=body_excerpt)


class BackendNotFound(NotFound, PermanentBackendError):
    """The backend has no such object (404)."""


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The backend's request id from the response headers.

    Args:
        headers: response headers (a case-insensitive mapping such as ``httpx.Headers``).

    Returns:
        The first of ``X-Request-Id``, ``Request-Id``, ``X-Correlation-Id``, or None.
    """
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return redact(value.strip()[:100])
    return None


def body_excerpt(body: str) -> str | None:
    """A short redacted excerpt of a response body.

    Args:
        body: the body as text.

    Returns:
        At most 200 characters with secrets scrubbed, or None for an empty body.
    """
    text = " ".join(body.split())
    if not text:
        return None
    # Redact before cutting, so a secret split by the cut is still recognised.
    text = redact(text)
    return text if len(text) <= EXCERPT_LIMIT else text[: EXCERPT_LIMIT - 1] + "…"


def error_message_of(body: str) -> str | None:
    """The backend's own error message, when the body is a JSON object that has one.

    Args:
        body: the body as text.

    Returns:
        The first string among ``message``, ``Message``, ``error_description``, ``title``
        (redacted, at most 200 characters), or None.
    """
    stripped = body.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    for member in _MESSAGE_MEMBERS:
        value = parsed.get(member)
        if isinstance(value, str) and value.strip():
            return body_excerpt(value)
    return None


def error_for_response(
    *,
    service: str,
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body: str,
    rate_limited: bool = False,
    retry_after: float | None = None,
    api_user_plan: bool = False,
) -> BackendError:
    """The domain error for an unsuccessful response.

    Args:
        service: the backend's name for the message (``"BSS"``, ``"Storefront"``).
        method: the request's method.
        path: the request's path (no query string).
        status: the response status.
        headers: the response headers.
        body: the response body as text.
        rate_limited: the response is a rate limit (a 403 the detector recognised).
        retry_after: seconds the backend asked us to wait, if it said.
        api_user_plan: a 403 is because the API user's plan may only read.

    Returns:
        The error to raise (never raised here).
    """
    request_id = request_id_of(headers)
    excerpt = body_excerpt(body)
    said = error_message_of(body)
    where = f"{service} {method} {path}"
    suffix = f": {said}" if said else ""

    def make(cls: type[BackendError], message: str, **extra: Any) -> BackendError:
        return cls(
            f"{where}: {message}{suffix}",
            status=status,
            request_id=request_id,
            body_excerpt=excerpt,
            **extra,
        )

    if status == 401:
        return make(AuthenticationFailed, "the credentials were refused (401)")
    if status == 403 and not rate_limited:
        if api_user_plan:
            return make(BackendForbidden, API_USER_PLAN_MESSAGE, api_user_plan=True)
        return make(BackendForbidden, "forbidden (403)")
    if status == 404:
        return make(BackendNotFound, "not found (404)")
    if status in (429, 403):
        return make(TransientBackendError, "rate limit hit", retry_after=retry_after)
    if status >= 500:
        return make(TransientBackendError, f"server error ({status})", retry_after=retry_after)
    return make(PermanentBackendError, f"request refused ({status})")
