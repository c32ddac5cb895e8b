"""An endpoint: where a host's receiver listens, its signing secrets, and the events it wants.

An :class:`Endpoint` is a value the host configures: an id, an http(s) URL, a current
:class:`~reseller_plans.webhooks.WebhookSecret` and the secrets it is rotating out, and the set
of event types it wants (empty for all). :meth:`Endpoint.rotate` makes the next secret current
and keeps the old one for an overlap; :meth:`Endpoint.signing_secrets` says which secrets sign
a delivery at a given instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import attrs

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.feed import EVENT_TYPE_PATTERN, check_event_type, event_type_set
from reseller_plans.domain.text import storable_text
from reseller_plans.webhooks.keys import RetiredSecret, WebhookSecret

__all__ = ["EVENT_TYPE_PATTERN", "Endpoint", "check_event_type", "url_without_credentials"]

_MAX_URL: Final = 2048
_MAX_ID: Final = 200


def _endpoint_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"an endpoint's id must be non-empty text, not {value!r}")
    if len(value) > _MAX_ID:
        raise InvalidInput(f"an endpoint's id has at most {_MAX_ID} characters")
    return storable_text(value, "the endpoint's id")


def _url(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"an endpoint's url is text, not {type(value).__name__}")
    if len(value) > _MAX_URL:
        raise InvalidInput(f"an endpoint's url has at most {_MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidInput("an endpoint's url must not hold spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it checks it (a port out of range raises)
    except ValueError as exc:
        raise InvalidInput(f"an endpoint's url is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput(
            f"an endpoint's url must be http:// or https://, not {parts.scheme or 'none'!r}"
        )
    if not parts.hostname:
        raise InvalidInput("an endpoint's url must name a host")
    try:
        parts.hostname.encode("idna")  # every label 1 to 63 characters, none empty
    except UnicodeError:
        raise InvalidInput(f"an endpoint's url names no valid host: {parts.hostname!r}") from None
    if parts.fragment:
        raise InvalidInput("an endpoint's url must not have a #fragment (it is never sent)")
    return value


def _event_types(value: Iterable[str] | None) -> frozenset[str]:
    return frozenset() if value is None else event_type_set(value, known_only=False)


def _retired(value: Iterable[RetiredSecret]) -> tuple[RetiredSecret, ...]:
    retired = tuple(value)
    for item in retired:
        if not isinstance(item, RetiredSecret):
            raise InvalidInput(
                f"previous_secrets holds RetiredSecret values, not {type(item).__name__}"
            )
    return retired


def _name(_instance: object, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"an endpoint's name is text, not {value!r}")
    storable_text(value, "the endpoint's name")


def url_without_credentials(url: str) -> str:
    """``url`` without its query and user information, which may carry credentials.

    Args:
        url: an http(s) URL.

    Returns:
        Its scheme, host, port and path.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@attrs.frozen
class Endpoint:
    """A receiver of webhooks, as the host configures it.

    Attributes:
        id: a stable id, the key of its deliveries.
        url: where deliveries are POSTed: ``http://`` or ``https://`` with a host.
        secret: the current signing secret (its ``whsec_`` text is accepted).
        previous_secrets: secrets being rotated out, each used until its ``until``.
        event_types: the event types it wants (``"subscription.activated"``); empty (or None)
            for all.
        name: a label for people (the id when empty).

    Raises:
        InvalidInput: an id that is empty, a URL that is not http(s) or names no host, a secret
            that is not one, or an event type that is not lowercase words joined by dots.
    """

    id: str = attrs.field(converter=_endpoint_id)
    url: str = attrs.field(converter=_url, repr=lambda url: repr(url_without_credentials(url)))
    secret: WebhookSecret = attrs.field(converter=WebhookSecret)
    previous_secrets: tuple[RetiredSecret, ...] = attrs.field(default=(), converter=_retired)
    event_types: frozenset[str] = attrs.field(default=None, converter=_event_types)
    name: str = attrs.field(default="", validator=_name)

    @property
    def label(self) -> str:
        """The name, or the id when it has none."""
        return self.name or self.id

    @property
    def display_url(self) -> str:
        """The URL without its query and user information, which may carry credentials."""
        return url_without_credentials(self.url)

    def accepts(self, event_type: str) -> bool:
        """Whether the endpoint wants events of this type.

        Args:
            event_type: the event's type name.

        Returns:
            True when ``event_types`` is empty or holds it.
        """
        return not self.event_types or event_type in self.event_types

    def signing_secrets(self, at: dt.datetime) -> tuple[WebhookSecret, ...]:
        """The secrets a delivery signed at ``at`` is signed with: the current one first, then
        every retired one whose ``until`` is still to come.

        Args:
            at: the signing instant, timezone-aware.

        Returns:
            One or more secrets.

        Raises:
            InvalidInput: ``at`` is naive.
        """
        if not isinstance(at, dt.datetime) or at.utcoffset() is None:
            raise InvalidInput(f"at must be a timezone-aware datetime, not {at!r}")
        retired = tuple(r.secret for r in self.previous_secrets if r.valid_at(at))
        return (self.secret, *(s for s in retired if s != self.secret))

    def rotate(
        self, new_secret: WebhookSecret | str, *, at: dt.datetime, overlap: dt.timedelta
    ) -> Endpoint:
        """The endpoint with ``new_secret`` current and its current one retired after
        ``overlap``; retired secrets whose overlap has ended by ``at`` are dropped.

        Args:
            new_secret: the next secret.
            at: now, timezone-aware.
            overlap: how long deliveries carry a signature by the old secret too, so that the
                receiver can switch at any moment of it.

        Returns:
            The rotated endpoint.

        Raises:
            InvalidInput: the secret is not one, it is the current one, ``at`` is naive, or the
                overlap is negative.
        """
        new = WebhookSecret(new_secret)
        if new == self.secret:
            raise InvalidInput("the new secret is the current one: rotate to another")
        if not isinstance(at, dt.datetime) or at.utcoffset() is None:
            raise InvalidInput(f"at must be a timezone-aware datetime, not {at!r}")
        if not isinstance(overlap, dt.timedelta) or overlap < dt.timedelta(0):
            raise InvalidInput(f"overlap must be a timedelta of 0 or more, not {overlap!r}")
        kept = tuple(r for r in self.previous_secrets if r.valid_at(at) and r.secret != new)
        return attrs.evolve(
            self, secret=new, previous_secrets=(*kept, RetiredSecret(self.secret, at + overlap))
        )
