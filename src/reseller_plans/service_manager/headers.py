"""What the platform's ``X-CloudPlatform-*`` headers say about a call.

- ``X-CloudPlatform-ApplicationId`` and ``X-CloudPlatform-APIKey`` authenticate the platform: the
  key header is the **base64 of the UTF-8 bytes** of the API key issued at registration. It is
  decoded and compared with the configured key in constant time; a missing, unknown or
  undecodable credential is refused.
- ``X-CloudPlatform-TrackId`` is the platform's correlation id of the call, for our logs.
- ``X-CloudPlatform-Setting-<FieldID>`` carry the partner's settings (``Fields/Get``);
  multi-valued settings are joined with ``|``.
- ``X-CloudPlatform-Token`` and ``X-CloudPlatform-BaseUri``, when sent, let a handler call back
  into the BSS; the token never appears in a ``repr`` or a log.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, TypeAlias

import attrs

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.logs import register_secret

__all__ = ["Credentials", "Headers", "PlatformCall", "header_values"]

Headers: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]
"""Request headers: a mapping, or (name, value) pairs as ASGI servers hand them over."""

APPLICATION_ID: Final = "x-cloudplatform-applicationid"
API_KEY: Final = "x-cloudplatform-apikey"
TRACK_ID: Final = "x-cloudplatform-trackid"
TOKEN: Final = "x-cloudplatform-token"  # noqa: S105 - a header name, not a secret
BASE_URI: Final = "x-cloudplatform-baseuri"
SETTING_PREFIX: Final = "x-cloudplatform-setting-"

_MAX_TRACK_ID: Final = 128


def header_values(headers: Headers) -> dict[str, list[str]]:
    """Header name (lower case) → every value it was sent with, in order."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(str(name).lower(), []).append(str(value))
    return values


def _one(values: Mapping[str, list[str]], name: str) -> str | None:
    sent = values.get(name)
    if not sent or len(sent) != 1:
        return None  # absent, or ambiguous: sent twice
    return sent[0].strip() or None


def _keys(credentials: Mapping[str, str]) -> Mapping[str, bytes]:
    keys: dict[str, bytes] = {}
    for app_id, key in dict(credentials).items():
        if not isinstance(app_id, str) or not app_id.strip():
            raise InvalidInput("an application id must be non-empty text")
        if not isinstance(key, str) or not key:
            raise InvalidInput(f"the API key of application {app_id!r} must be non-empty text")
        keys[app_id.strip().casefold()] = key.encode("utf-8")
        # Scrubbed from every log line of the library, as sent and as issued.
        register_secret(key)
        register_secret(base64.b64encode(key.encode("utf-8")).decode("ascii"))
    if not keys:
        raise InvalidInput("at least one application id and API key are required")
    return MappingProxyType(keys)


@attrs.frozen(repr=False)
class Credentials:
    """The application ids the platform was issued, each with its API key.

    Args:
        keys: application id → API key (the key as issued, not base64-encoded again). Ids are
            GUIDs and compared case-insensitively.

    Raises:
        InvalidInput: no credentials, or an empty id or key.
    """

    keys: Mapping[str, bytes] = attrs.field(converter=_keys)

    def authenticate(self, headers: Mapping[str, list[str]]) -> str | None:
        """The caller's application id when its credentials are right, else None.

        Args:
            headers: as returned by ``header_values``.
        """
        app_id = _one(headers, APPLICATION_ID)
        encoded = _one(headers, API_KEY)
        if app_id is None or encoded is None:
            return None
        try:
            presented = base64.b64decode(encoded.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            return None
        expected = self.keys.get(app_id.casefold())
        # Compare even for an unknown id, so timing tells nothing about which ids exist.
        matches = hmac.compare_digest(presented, expected if expected is not None else b"\0")
        return app_id if matches and expected is not None else None

    def __repr__(self) -> str:
        return f"Credentials(applications={len(self.keys)}, keys=<redacted>)"


def _settings(headers: Mapping[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
    settings: dict[str, tuple[str, ...]] = {}
    for name, sent in headers.items():
        if name.startswith(SETTING_PREFIX) and len(name) > len(SETTING_PREFIX):
            field_id = name[len(SETTING_PREFIX) :]
            settings[field_id] = tuple(v for value in sent for v in value.split("|"))
    return MappingProxyType(settings)


@attrs.frozen
class PlatformCall:
    """One authenticated call of the platform, as a handler and an account reader see it.

    Attributes:
        route: the route called (``Subscriptions/Create``).
        application_id: the application id that authenticated.
        track_id: the platform's correlation id of the call, if it sent one.
        settings: the partner's settings, by field id in lower case, each split on ``|``.
        platform_token: the BSS token the platform sent for callbacks (never shown).
        platform_base_uri: the BSS base URL the platform sent for callbacks.
    """

    route: str
    application_id: str
    track_id: str | None = None
    settings: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, hash=False)
    platform_token: str | None = attrs.field(default=None, repr=False)
    platform_base_uri: str | None = None

    @classmethod
    def from_headers(
        cls, route: str, application_id: str, headers: Mapping[str, list[str]]
    ) -> PlatformCall:
        """Read a call's track id, settings and BSS callback details from its headers."""
        track = _one(headers, TRACK_ID)
        return cls(
            route=route,
            application_id=application_id,
            track_id=None if track is None else track[:_MAX_TRACK_ID],
            settings=_settings(headers),
            platform_token=_one(headers, TOKEN),
            platform_base_uri=_one(headers, BASE_URI),
        )

    def setting(self, field_id: str) -> str | None:
        """The first value of a setting (``call.setting("DistributorCode")``), or None."""
        values = self.settings.get(field_id.lower())
        return values[0].strip() if values else None
