"""The HTTP machinery shared by the BSS and Storefront adapters, written once.

Only this package, the adapters (``reseller_plans.bss``, ``reseller_plans.storefront``) and the
emulator (``reseller_plans.testing.emulator``) import httpx. Public signatures speak in our own
types: :class:`RetryPolicy` (with the call ``deadline``), :class:`Timeouts`, and the typed
errors below (:class:`OutcomeUnknown` for a write that may have acted), all of them in the
domain tree under ``ResellerPlansError``. :class:`BackendClient` and its async twin
:class:`AsyncBackendClient` drive one sans-IO core (:mod:`reseller_plans.http.core`).
"""

from reseller_plans.domain.errors import OutcomeUnknown
from reseller_plans.http.async_client import AsyncBackendClient
from reseller_plans.http.auth import AsyncApiKeyAuth, AsyncAuthenticator
from reseller_plans.http.client import (
    IDEMPOTENCY_HEADER,
    ApiKeyAuth,
    Authenticator,
    BackendClient,
    Reply,
    Timeouts,
    path_segment,
)
from reseller_plans.http.errors import (
    AuthenticationFailed,
    BackendForbidden,
    BackendNotFound,
    MalformedResponse,
    error_for_response,
)
from reseller_plans.http.payload import Payload
from reseller_plans.http.retry import (
    RETRYABLE_STATUSES,
    RateLimitDetector,
    RetryPolicy,
    parse_retry_after,
)

__all__ = [
    "IDEMPOTENCY_HEADER",
    "RETRYABLE_STATUSES",
    "ApiKeyAuth",
    "AsyncApiKeyAuth",
    "AsyncAuthenticator",
    "AsyncBackendClient",
    "AuthenticationFailed",
    "Authenticator",
    "BackendClient",
    "BackendForbidden",
    "BackendNotFound",
    "MalformedResponse",
    "OutcomeUnknown",
    "Payload",
    "RateLimitDetector",
    "Reply",
    "RetryPolicy",
    "Timeouts",
    "error_for_response",
    "parse_retry_after",
    "path_segment",
]
