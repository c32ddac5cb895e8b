"""Redaction of secrets in text, headers and log records; the package logger; Secret."""

from __future__ import annotations

import logging
import sys

import pytest

from reseller_plans.logs import (
    LOGGER_NAME,
    REDACTED,
    RedactingFilter,
    Secret,
    get_logger,
    redact,
    register_secret,
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer eyJhbGciOi.abc-def", "eyJhbGciOi.abc-def"),
        ("authorization=Basic a2V5OnNlY3JldA==", "a2V5OnNlY3JldA=="),
        ("grant_type=password&username=bob&password=hunter22", "hunter22"),
        ('{"access_token": "tok-123", "expires_in": 3600}', "tok-123"),
        ("{'client_secret': 'cs-999'}", "cs-999"),
        ("X-CloudPlatform-APIKey: ZmFrZS1rZXk=", "ZmFrZS1rZXk="),
        ("X-ApiKey=k-777", "k-777"),
        ("https://bss.test/api?access_token=q-555&pageIndex=2", "q-555"),
        ('{"Password":"P@ss w0rd"}', "P@ss w0rd"),
    ],
)
def test_redact_scrubs_every_kind_of_secret(text: str, secret: str) -> None:
    scrubbed = redact(text)
    assert secret not in scrubbed
    assert REDACTED in scrubbed


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "GET /api/accounts/42 -> 200; the password policy says nothing; grant_type=password"
    assert redact(text) == text


def test_redact_headers_replaces_sensitive_headers_whole() -> None:
    headers = {"Authorization": "Bearer x", "X-Api-Version": "3.0", "X-ApiKey": "k",
               "Cookie": "s=1"}  # fmt: skip
    assert redact(headers) == {
        "Authorization": REDACTED, "X-Api-Version": "3.0", "X-ApiKey": REDACTED,
        "Cookie": REDACTED,
    }  # fmt: skip


def test_registered_secrets_are_scrubbed_anywhere() -> None:
    register_secret("zebra-canary-42")
    register_secret("ab")  # too short to register: would scrub ordinary text
    assert redact("the zebra-canary-42 ran; ab") == f"the {REDACTED} ran; ab"


def test_filter_renders_and_scrubs_the_message_and_exception() -> None:
    record = logging.LogRecord(
        "reseller_plans.http", logging.DEBUG, __file__, 1, "sent %s", ("password=hunter22",),
        None,
    )  # fmt: skip
    try:
        raise RuntimeError("token=abc123")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    assert record.getMessage() == f"sent password={REDACTED}"
    assert record.exc_text is not None
    assert "abc123" not in record.exc_text


def test_filter_survives_a_malformed_logging_call() -> None:
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "%d items", ("many",), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "%d items"


def test_get_logger_gives_package_children_with_the_filter_once() -> None:
    logger = get_logger("http")
    again = get_logger("http")
    assert logger is again
    assert logger.name == f"{LOGGER_NAME}.http"
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    assert get_logger().name == LOGGER_NAME


def test_library_configures_no_handlers_but_a_null_one() -> None:
    handlers = logging.getLogger(LOGGER_NAME).handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]
    assert logging.getLogger("httpx").filters == []


def test_secret_never_shows_itself() -> None:
    secret = Secret("s3cr3t-value")
    assert "s3cr3t" not in repr(secret)
    assert "s3cr3t" not in str(secret)
    assert "s3cr3t" not in f"{secret}"
    assert secret.reveal() == "s3cr3t-value"
    assert Secret(secret) == secret
    assert hash(Secret("s3cr3t-value")) == hash(secret)
    assert bool(secret)
    assert "s3cr3t-value" not in redact("leaked s3cr3t-value")


def test_secret_holds_text_only() -> None:
    with pytest.raises(TypeError):
        Secret(42)  # type: ignore[arg-type]
