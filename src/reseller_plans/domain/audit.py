"""The audit trail: who caused an event, in answer to which request, and why.

Every event a store records carries an :class:`Audit`, the envelope around it (``Event.audit``):
the actor who asked, the idempotency key of the request, the correlation id that ties together
everything one request did (the host's, or one the library minted), and the reason given. The
events a command's saga records carry the command's audit; those of due work (``run_due``)
carry ``Audit.system`` with the run's correlation id. Events recorded before the audit trail
existed were migrated with ``Audit.unrecorded()``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import attrs

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.errors import InvalidInput

__all__ = [
    "SYSTEM",
    "UNRECORDED",
    "Audit",
    "actor_text",
    "check_correlation_id",
    "new_correlation_id",
]

SYSTEM = "system"
"""The actor of due work (``run_due``): scheduled changes, renewals, resumed operations."""
UNRECORDED = "unrecorded"
"""The actor of events recorded before the audit trail existed (a migrated history)."""

_CORRELATION = re.compile(r"[\x21-\x7e]{1,128}")
_MAX_REASON = 500


def actor_text(actor: Actor) -> str:
    """How the audit trail names an actor: ``"distributor:100"``, ``"reseller:3542"``."""
    return f"{actor.kind.value}:{actor.id}"


def new_correlation_id() -> str:
    """A fresh correlation id (``cor_`` and 32 hex digits)."""
    return "cor_" + uuid.uuid4().hex


def check_correlation_id(value: object) -> str:
    """The correlation id, checked: 1 to 128 printable ASCII characters, no spaces.

    Raises:
        InvalidInput: anything else.
    """
    if not isinstance(value, str) or not _CORRELATION.fullmatch(value):
        raise InvalidInput(
            f"a correlation id is 1 to 128 printable ASCII characters without spaces, "
            f"not {value!r}"[:200]
        )
    return value


def _optional_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"Audit.{attribute.name} is text or None, not {value!r}")


def _reason(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"a reason is text, not {value!r}")
    return value[:_MAX_REASON]


def _actor(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"Audit.actor is non-empty text, not {value!r}")


@attrs.frozen
class Audit:
    """Who caused an event, and in answer to what.

    Attributes:
        actor: who asked (:func:`actor_text`: ``"distributor:100"``, ``"reseller:3542"``),
            ``"system"`` for due work, ``"unrecorded"`` for events older than the audit trail.
        correlation_id: ties together everything one request did: the one the host passed
            (``reseller_plans.correlate``) or one the library minted for the call (``cor_…``).
        idempotency_key: the key the caller sent with the request, if any.
        reason: the reason the caller gave, if any (at most 500 characters).
    """

    actor: str = attrs.field(validator=_actor)
    correlation_id: str | None = attrs.field(default=None, validator=_optional_text)
    idempotency_key: str | None = attrs.field(default=None, validator=_optional_text)
    reason: str | None = attrs.field(default=None, converter=_reason)

    @classmethod
    def of(
        cls,
        actor: Actor,
        correlation_id: str | None,
        *,
        idempotency_key: str | None = None,
        reason: str | None = None,
    ) -> Audit:
        """The audit of a request made by ``actor``."""
        return cls(actor_text(actor), correlation_id, idempotency_key, reason)

    @classmethod
    def system(cls, correlation_id: str | None, *, reason: str | None = None) -> Audit:
        """The audit of due work, under the run's correlation id."""
        return cls(SYSTEM, correlation_id, None, reason)

    @classmethod
    def unrecorded(cls) -> Audit:
        """The audit of an event recorded before the audit trail existed."""
        return cls(UNRECORDED)

    def to_dict(self) -> dict[str, str | None]:
        """A JSON-ready dict (every member, None where unknown)."""
        return {
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "idempotency_key": self.idempotency_key,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: object) -> Audit:
        """The inverse of :meth:`to_dict`.

        Raises:
            InvalidInput: not a mapping with an ``actor``.
        """
        if not isinstance(data, dict) or "actor" not in data:
            raise InvalidInput(f"an audit is a mapping with an actor, not {data!r}"[:200])
        return cls(
            data["actor"],
            data.get("correlation_id"),
            data.get("idempotency_key"),
            data.get("reason"),
        )
