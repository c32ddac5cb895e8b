"""Signing secrets: the ``whsec_`` form, and the secrets an endpoint retires while rotating.

A :class:`WebhookSecret` is a random key of 24 to 64 bytes written as ``whsec_`` and its base64,
the form of Standard Webhooks (the host shares it with the receiver once). It never shows itself
in a ``repr`` and is registered for redaction (:mod:`reseller_plans.logs`), so a message or log
line that would hold it shows ``[REDACTED]`` instead.

Rotation: an endpoint gets a new current secret, and its old one becomes a
:class:`RetiredSecret` that is still used *until* a given instant. Every delivery signed in the
overlap carries a signature by each, so a receiver that has either one verifies it, and the
receiver can switch to the new secret at any moment of the overlap.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
from typing import Any, Final

import attrs

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.logs import Secret

__all__ = ["SECRET_PREFIX", "RetiredSecret", "WebhookSecret"]

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret
"""The prefix of a signing secret in its text form."""

_MIN_BYTES: Final = 24
_MAX_BYTES: Final = 64


def _parse(value: str | Secret | WebhookSecret) -> Secret:
    if isinstance(value, WebhookSecret):
        return value.secret
    if isinstance(value, Secret):
        value = value.reveal()
    if not isinstance(value, str):
        raise InvalidInput(
            f"a webhook secret is text ({SECRET_PREFIX}<base64>), not {type(value).__name__}"
        )
    if not value.startswith(SECRET_PREFIX):
        raise InvalidInput(f"a webhook secret starts with {SECRET_PREFIX!r} (then its base64)")
    encoded = value[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            f"a webhook secret is {SECRET_PREFIX} followed by base64, and this one's is not "
            "valid base64"
        ) from None
    if not _MIN_BYTES <= len(key) <= _MAX_BYTES:
        raise InvalidInput(
            f"a webhook secret holds {_MIN_BYTES} to {_MAX_BYTES} random bytes, "
            f"this one {len(key)}: make one with WebhookSecret.generate()"
        )
    return Secret(value)


@attrs.frozen(repr=False)
class WebhookSecret:
    """A signing secret, ``whsec_`` and the base64 of 24 to 64 random bytes.

    >>> secret = WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    >>> secret
    WebhookSecret('whsec_**********')
    >>> len(secret.key)
    24

    Args:
        secret: the text form (or a :class:`~reseller_plans.logs.Secret` holding it).

    Raises:
        InvalidInput: it does not start with ``whsec_``, is not base64, or holds fewer than 24
            or more than 64 bytes.
    """

    secret: Secret = attrs.field(converter=_parse)

    @classmethod
    def generate(cls, size: int = 32) -> WebhookSecret:
        """A new random secret, from the operating system's source of randomness.

        Args:
            size: its length in bytes, 24 to 64 (32 by default).

        Returns:
            The secret.

        Raises:
            InvalidInput: ``size`` is out of range.
        """
        if isinstance(size, bool) or not isinstance(size, int):
            raise InvalidInput(f"size must be a whole number of bytes, not {size!r}")
        key = secrets.token_bytes(size) if size > 0 else b""
        return cls(SECRET_PREFIX + base64.b64encode(key).decode("ascii"))

    @property
    def key(self) -> bytes:
        """The key itself, the bytes the HMAC is keyed with."""
        encoded = self.secret.reveal()[len(SECRET_PREFIX) :]
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4))

    def reveal(self) -> str:
        """The text form, to give to the receiver and nowhere else.

        Returns:
            ``whsec_…``.
        """
        return self.secret.reveal()

    def __repr__(self) -> str:
        return f"WebhookSecret('{SECRET_PREFIX}**********')"

    __str__ = __repr__


def _aware(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidInput(f"{attribute.name} must be a timezone-aware datetime, not {value!r}")


@attrs.frozen
class RetiredSecret:
    """A secret being rotated out: still signed with until ``until``, no longer from then on.

    Attributes:
        secret: the old secret (its text form is accepted).
        until: the end of the overlap, timezone-aware.

    Raises:
        InvalidInput: the secret is not one, or ``until`` is not timezone-aware.
    """

    secret: WebhookSecret = attrs.field(converter=WebhookSecret)
    until: dt.datetime = attrs.field(validator=_aware)

    def valid_at(self, at: dt.datetime) -> bool:
        """Whether deliveries signed at ``at`` still carry a signature by it.

        Args:
            at: the signing instant.

        Returns:
            True before ``until``.
        """
        return at < self.until
