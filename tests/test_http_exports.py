"""The public names of the HTTP adapters and the emulator, pinned."""

from __future__ import annotations

import httpx

import reseller_plans.bss
import reseller_plans.http
import reseller_plans.logs
import reseller_plans.storefront
import reseller_plans.testing.emulator
from reseller_plans.http import BackendClient


def test_public_names_are_pinned() -> None:
    assert set(reseller_plans.http.__all__) == {
        "IDEMPOTENCY_HEADER", "RETRYABLE_STATUSES", "ApiKeyAuth", "AsyncApiKeyAuth",
        "AsyncAuthenticator", "AsyncBackendClient", "AuthenticationFailed",
        "Authenticator", "BackendClient", "BackendForbidden", "BackendNotFound",
        "MalformedResponse", "OutcomeUnknown", "Payload", "RateLimitDetector", "Reply",
        "RetryPolicy", "Timeouts",
        "error_for_response", "parse_retry_after", "path_segment",
    }  # fmt: skip
    assert set(reseller_plans.bss.__all__) == {
        "AsyncBSSClient", "AsyncPasswordGrant", "BSSClient", "BSSWireConfig", "PasswordGrant",
        "PatchOperation", "PlatformSubscription",
    }  # fmt: skip
    assert set(reseller_plans.storefront.__all__) == {
        "AsyncStorefrontClient", "StorefrontClient", "StorefrontWireConfig",
    }  # fmt: skip
    assert set(reseller_plans.logs.__all__) == {
        "LOGGER_NAME", "REDACTED", "RedactingFilter", "Secret", "get_logger", "redact",
        "register_secret",
    }  # fmt: skip
    assert set(reseller_plans.testing.emulator.__all__) == {
        "Call", "Credentials", "Emulator", "EmulatorError", "EmulatorServer", "EmulatorState",
        "Faults", "RateLimit", "ScriptedFault", "create_app", "demo_fixture", "serve_emulator",
    }  # fmt: skip
    for module in (reseller_plans.http, reseller_plans.bss, reseller_plans.storefront,
                   reseller_plans.logs, reseller_plans.testing.emulator):  # fmt: skip
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_an_injected_client_gets_the_default_headers_on_each_request() -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler)) as injected:
        backend = BackendClient(
            "https://api.test", headers={"X-Api-Version": "3.0"}, http_client=injected
        )
        backend.request("GET", "/x")
    assert seen[0]["X-Api-Version"] == "3.0"
    assert seen[0]["Accept"] == "application/json"
    assert seen[0]["User-Agent"] == "reseller-plans"
