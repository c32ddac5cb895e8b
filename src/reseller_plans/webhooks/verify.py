"""For receivers: check that a delivery is ours, unchanged and fresh, then read it.

:func:`verify` takes the raw body bytes (exactly as received: parse nothing before), the request
headers and the receiver's secret (or several, while it rotates). It refuses, with a
:class:`WebhookVerificationError` whose ``reason`` says why:

- a delivery missing one of ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``;
- a timestamp that is not whole seconds, or further than ``tolerance`` (5 minutes) in the past
  (a replay) or the future, on the receiver's clock (injectable: a ``Clock`` or ``now``);
- a body, id or timestamp that no signature in the header matches under any of the secrets;
- a signed body that is not JSON.

The signatures are computed by ``standardwebhooks`` and compared in constant time. It needs the
``webhooks`` extra (``pip install 'reseller-plans[webhooks]'``).
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from reseller_plans.domain.errors import InvalidInput, ResellerPlansError
from reseller_plans.logs import Secret
from reseller_plans.ports import Clock, SystemClock
from reseller_plans.webhooks.keys import WebhookSecret
from reseller_plans.webhooks.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_ID_HEADER,
    signature,
)

__all__ = ["DEFAULT_TOLERANCE", "VerificationFailure", "WebhookVerificationError", "verify"]

DEFAULT_TOLERANCE: Final = dt.timedelta(minutes=5)
"""How far a delivery's timestamp may be from the receiver's clock, either way."""

_MAX_TIMESTAMP_DIGITS: Final = 11
_MAX_SIGNATURES: Final = 16  # more than any rotation needs; bounds the work of a forged header


class VerificationFailure(enum.Enum):
    """Why :func:`verify` refused a delivery."""

    MISSING_HEADER = "missing_header"
    """A Standard Webhooks header is missing or empty."""
    INVALID_TIMESTAMP = "invalid_timestamp"
    """``webhook-timestamp`` is not whole seconds since the epoch."""
    STALE_TIMESTAMP = "stale_timestamp"
    """The timestamp is older than the tolerance: a replay, or a clock that is off."""
    FUTURE_TIMESTAMP = "future_timestamp"
    """The timestamp is further ahead than the tolerance: a clock that is off."""
    BAD_SIGNATURE = "bad_signature"
    """No signature matches: a changed body, id or timestamp, or another secret."""
    NOT_JSON = "not_json"
    """The signature matches but the body is not JSON."""


class WebhookVerificationError(ResellerPlansError):
    """A delivery that :func:`verify` refused: answer it with a 4xx and do not act on it.

    Attributes:
        reason: why, as a :class:`VerificationFailure`.
        message: the reason in words.
    """

    def __init__(self, message: str, *, reason: VerificationFailure) -> None:
        self.message = message
        self.reason = reason
        super().__init__(message)


def _secrets(
    value: WebhookSecret | str | Secret | Iterable[WebhookSecret | str | Secret],
) -> tuple[WebhookSecret, ...]:
    if isinstance(value, WebhookSecret | str | Secret):
        return (WebhookSecret(value),)
    try:
        secrets = tuple(WebhookSecret(item) for item in value)
    except TypeError:
        raise InvalidInput(
            f"secrets is a webhook secret or several, not {type(value).__name__}"
        ) from None
    if not secrets:
        raise InvalidInput("verify() needs at least one secret")
    return secrets


def _now(now: dt.datetime | Clock | None) -> dt.datetime:
    value = SystemClock().now() if now is None else now
    if isinstance(value, Clock) and not isinstance(value, dt.datetime):
        value = value.now()
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidInput(
            f"now must be a timezone-aware datetime or a Clock that gives one, not {value!r}"
        )
    return value


def _age(delta: dt.timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secrets: WebhookSecret | str | Iterable[WebhookSecret | str],
    *,
    now: dt.datetime | Clock | None = None,
    tolerance: dt.timedelta = DEFAULT_TOLERANCE,
) -> Any:
    """Check a delivery's signature and timestamp, and return its JSON payload.

    Args:
        body: the raw request body, exactly as received.
        headers: the request headers (any mapping; names in any case).
        secrets: the receiver's secret (``whsec_…`` text or a ``WebhookSecret``), or several
            while it rotates: the delivery passes when one of its signatures matches one of
            them.
        now: the receiver's current time: a timezone-aware datetime, a ``Clock``, or None for
            the system clock.
        tolerance: how far the timestamp may be from ``now``, either way.

    Returns:
        The body parsed as JSON (for the library's deliveries, the envelope: ``type``, ``id``,
        ``timestamp``, ``version``, ``data``; ignore members you do not know).

    Raises:
        WebhookVerificationError: a header is missing, the timestamp is not fresh, no signature
            matches, or the body is not JSON; ``reason`` says which.
        InvalidInput: a call that cannot be right: a body that is not bytes, no secret or one
            that is not ``whsec_…``, a naive ``now``, a tolerance that is not positive.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise InvalidInput(
            f"verify() takes the raw body as bytes, exactly as received, not {type(body).__name__}"
        )
    keys = _secrets(secrets)
    if not isinstance(tolerance, dt.timedelta) or tolerance <= dt.timedelta(0):
        raise InvalidInput(f"tolerance must be a positive timedelta, not {tolerance!r}")
    current = _now(now)
    lowered = {str(name).lower(): value for name, value in headers.items()}
    wanted = (WEBHOOK_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
    missing = [name for name in wanted if not str(lowered.get(name) or "").strip()]
    if missing:
        raise WebhookVerificationError(
            f"not a signed delivery: the {', '.join(missing)} header"
            f"{'s are' if len(missing) > 1 else ' is'} missing",
            reason=VerificationFailure.MISSING_HEADER,
        )
    message_id = str(lowered[WEBHOOK_ID_HEADER])
    timestamp = _timestamp(str(lowered[TIMESTAMP_HEADER]))
    sent = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    if sent < current - tolerance:
        raise WebhookVerificationError(
            f"the {TIMESTAMP_HEADER} is {_age(current - sent)} old, more than the "
            f"{_age(tolerance)} tolerated: a replay, or a clock that is off",
            reason=VerificationFailure.STALE_TIMESTAMP,
        )
    if sent > current + tolerance:
        raise WebhookVerificationError(
            f"the {TIMESTAMP_HEADER} is {_age(sent - current)} in the future, more than the "
            f"{_age(tolerance)} tolerated: a clock that is off",
            reason=VerificationFailure.FUTURE_TIMESTAMP,
        )
    payload = bytes(body)
    passed = [
        entry.encode("utf-8", "replace")
        for entry in str(lowered[SIGNATURE_HEADER]).split()
        if entry.startswith("v1,")
    ][:_MAX_SIGNATURES]
    expected = [signature(message_id, timestamp, payload, (key,)).encode() for key in keys]
    # Every comparison is made, in constant time, whichever matches.
    matched = [hmac.compare_digest(e, p) for e in expected for p in passed]
    if not any(matched):
        raise WebhookVerificationError(
            "no signature matches: the body, id or timestamp was changed, or it was signed "
            "with another secret",
            reason=VerificationFailure.BAD_SIGNATURE,
        )
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        raise WebhookVerificationError(
            "the signature matches but the body is not JSON", reason=VerificationFailure.NOT_JSON
        ) from None


def _timestamp(value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_TIMESTAMP_DIGITS:
        raise WebhookVerificationError(
            f"the {TIMESTAMP_HEADER} must be whole seconds since the epoch, not {text[:40]!r}",
            reason=VerificationFailure.INVALID_TIMESTAMP,
        )
    return int(text)
