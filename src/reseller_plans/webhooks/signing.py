"""Signing a delivery as Standard Webhooks does, with the ``standardwebhooks`` package.

Each delivery carries three headers:

- ``webhook-id``: the event's stable id, the same on every attempt (a receiver dedupes by it);
- ``webhook-timestamp``: when this attempt was signed, in whole seconds since the epoch;
- ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body`` under a
  secret, once per secret valid at that instant (a rotation signs with two or more), separated
  by spaces.

The HMAC is ``standardwebhooks.Webhook.sign``: this module only picks the secrets, the instant
and the headers. It needs the ``webhooks`` extra (``pip install 'reseller-plans[webhooks]'``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Final

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.webhooks.keys import WebhookSecret

try:
    from standardwebhooks import Webhook
except ImportError as exc:
    raise ImportError(
        "reseller_plans.webhooks needs the standardwebhooks package: "
        "install the webhooks extra, pip install 'reseller-plans[webhooks]'"
    ) from exc

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_ID_HEADER",
    "check_message_id",
    "signature",
    "signature_headers",
    "timestamp_of",
]

WEBHOOK_ID_HEADER: Final = "webhook-id"
"""The header with the event's stable id."""
TIMESTAMP_HEADER: Final = "webhook-timestamp"
"""The header with the signing instant, in seconds since the epoch."""
SIGNATURE_HEADER: Final = "webhook-signature"
"""The header with the space-separated ``v1,<base64>`` signatures."""

_MAX_ID: Final = 255


def check_message_id(value: object) -> str:
    """``value`` checked to be usable as a ``webhook-id``: 1 to 255 visible ASCII characters.

    Args:
        value: the event's id.

    Returns:
        The id, unchanged.

    Raises:
        InvalidInput: it is not text, empty, too long, or holds a space, a control character
            or a character outside ASCII (a header cannot carry those as they are).
    """
    if not isinstance(value, str):
        raise InvalidInput(f"an event id is text, not {type(value).__name__} {value!r}")
    if not 1 <= len(value) <= _MAX_ID or not all("!" <= ch <= "~" for ch in value):
        raise InvalidInput(
            f"an event id is 1 to {_MAX_ID} visible ASCII characters (it travels in the "
            f"{WEBHOOK_ID_HEADER} header), not {value!r}"
        )
    return value


def timestamp_of(at: dt.datetime) -> int:
    """The ``webhook-timestamp`` of an instant: whole seconds since the epoch, rounded down.

    Args:
        at: the instant, timezone-aware.

    Returns:
        The seconds.

    Raises:
        InvalidInput: ``at`` is naive.
    """
    if not isinstance(at, dt.datetime) or at.utcoffset() is None:
        raise InvalidInput(f"a signing instant must be a timezone-aware datetime, not {at!r}")
    return math.floor(at.timestamp())


def signature(
    message_id: str, timestamp: int, body: bytes, secrets: Iterable[WebhookSecret]
) -> str:
    """The ``webhook-signature`` value: one ``v1,<base64>`` per secret, space-separated.

    Args:
        message_id: the ``webhook-id``.
        timestamp: the ``webhook-timestamp``, in seconds.
        body: the body bytes exactly as sent.
        secrets: one or more secrets, each signing once.

    Returns:
        The header value.

    Raises:
        InvalidInput: the body is not bytes, or no secret.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise InvalidInput(f"a delivery's body is bytes, not {type(body).__name__}")
    at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    signatures = [
        Webhook(secret.key).sign(msg_id=message_id, timestamp=at, data=bytes(body))
        for secret in secrets
    ]
    if not signatures:
        raise InvalidInput("a delivery is signed with at least one secret")
    return " ".join(signatures)


def signature_headers(
    message_id: str, body: bytes, secrets: Iterable[WebhookSecret], *, at: dt.datetime
) -> dict[str, str]:
    """The three Standard Webhooks headers of a delivery signed at ``at``.

    Args:
        message_id: the event's stable id (the ``webhook-id``).
        body: the body bytes exactly as they will be sent.
        secrets: the secrets valid at ``at`` (``Endpoint.signing_secrets(at)``).
        at: the signing instant, timezone-aware.

    Returns:
        ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``.

    Raises:
        InvalidInput: an id that cannot travel in a header, a naive instant, no secret.
    """
    check_message_id(message_id)
    timestamp = timestamp_of(at)
    return {
        WEBHOOK_ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(message_id, timestamp, body, secrets),
    }
