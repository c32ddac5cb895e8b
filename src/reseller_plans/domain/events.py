"""Domain events: what happened to a subscription, in the past tense.

Events are values recorded by the aggregate's transitions; the service appends them to the
subscription's history in the store and reacts to some of them (the outbox). ``EVENT_TYPES`` maps
each class name to its class, for storage.

Each recorded event also carries its audit (``Event.audit``, :mod:`reseller_plans.domain.audit`):
who caused it and in answer to which request. The service stamps it as it records the event; it
is an envelope around the event, not part of what happened, so two events that differ only in
their audit are equal.
"""

from __future__ import annotations

import datetime as dt

import attrs

from reseller_plans.domain.audit import Audit
from reseller_plans.domain.plans import Plan

__all__ = [
    "EVENT_TYPES",
    "Activated",
    "ActivationFailed",
    "CancellationScheduled",
    "Cancelled",
    "Event",
    "Expired",
    "LicenseProvisioned",
    "LicenseRevoked",
    "MessageFailed",
    "MessageResent",
    "PendingChangeWithdrawn",
    "PlanChangeScheduled",
    "PlanChanged",
    "ProvisioningFailed",
    "ProvisioningRetried",
    "Reconciled",
    "Renewed",
    "Requested",
    "Resumed",
    "RevertedToBasic",
    "StorefrontActivated",
    "StorefrontDeactivated",
    "Suspended",
    "WelcomeEmailQueued",
    "event_from_dict",
    "event_to_dict",
]


@attrs.frozen
class Event:
    """Something that happened to subscription ``subscription_id`` at ``at``.

    ``audit`` (keyword only) is who caused it and in answer to what: None until the service
    records the event (every stored event has one). It takes no part in equality.
    """

    subscription_id: str
    at: dt.datetime
    audit: Audit | None = attrs.field(default=None, kw_only=True, eq=False)

    @property
    def name(self) -> str:
        """The event's type name (``"Activated"``)."""
        return type(self).__name__


@attrs.frozen
class Requested(Event):
    """An upgrade to ``plan`` was requested; the activation saga starts."""

    account_id: str
    plan: Plan
    channel: str


@attrs.frozen
class LicenseProvisioned(Event):
    plan: Plan


@attrs.frozen
class LicenseRevoked(Event):
    pass


@attrs.frozen
class StorefrontActivated(Event):
    plan: Plan
    alias: str


@attrs.frozen
class StorefrontDeactivated(Event):
    pass


@attrs.frozen
class WelcomeEmailQueued(Event):
    plan: Plan


@attrs.frozen
class Activated(Event):
    plan: Plan


@attrs.frozen
class ActivationFailed(Event):
    """Activation was rolled back; the reseller stays on ``Plan.BASIC``."""

    reason: str


@attrs.frozen
class ProvisioningFailed(Event):
    """A step failed; ``awaiting_retry`` when the operation waits for ``retry``."""

    operation: str
    step: str
    reason: str
    awaiting_retry: bool


@attrs.frozen
class ProvisioningRetried(Event):
    operation: str


@attrs.frozen
class Suspended(Event):
    reason: str


@attrs.frozen
class Resumed(Event):
    pass


@attrs.frozen
class PlanChangeScheduled(Event):
    plan: Plan
    effective_at: dt.datetime


@attrs.frozen
class PlanChanged(Event):
    old_plan: Plan
    new_plan: Plan


@attrs.frozen
class CancellationScheduled(Event):
    effective_at: dt.datetime


@attrs.frozen
class PendingChangeWithdrawn(Event):
    """A scheduled plan change or cancellation was withdrawn before it applied."""

    change: str


@attrs.frozen
class Cancelled(Event):
    pass


@attrs.frozen
class RevertedToBasic(Event):
    account_id: str


@attrs.frozen
class Renewed(Event):
    term_end: dt.datetime


@attrs.frozen
class Expired(Event):
    """The term ended without auto-renewal; cancellation follows."""


@attrs.frozen
class Reconciled(Event):
    """A reconciliation found what the account's subscriptions do not allow, and undid it.

    Attributes:
        account_id: the reseller account.
        repairs: the calls made, comma-separated (``"deactivate_storefront,revoke_license"``).
        reason: why the reconciliation was asked for.
    """

    account_id: str
    repairs: str
    reason: str


@attrs.frozen
class MessageFailed(Event):
    """The mail server refused a message for good: it is not tried again until resent.

    Attributes:
        message_id: the outbox entry (its Message-ID).
        kind: which message (``"welcome"``).
        error: what the mail server said.
    """

    message_id: str
    kind: str
    error: str


@attrs.frozen
class MessageResent(Event):
    """Someone asked for a message to be sent again (its attempts start over).

    Attributes:
        message_id: the outbox entry (its Message-ID, the same as before).
        kind: which message.
        actor: who asked.
    """

    message_id: str
    kind: str
    actor: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        Requested,
        LicenseProvisioned,
        LicenseRevoked,
        StorefrontActivated,
        StorefrontDeactivated,
        WelcomeEmailQueued,
        Activated,
        ActivationFailed,
        ProvisioningFailed,
        ProvisioningRetried,
        Suspended,
        Resumed,
        PlanChangeScheduled,
        PlanChanged,
        CancellationScheduled,
        PendingChangeWithdrawn,
        Cancelled,
        RevertedToBasic,
        Renewed,
        Expired,
        Reconciled,
        MessageFailed,
        MessageResent,
    )
}


def event_to_dict(event: Event) -> dict[str, object]:
    """A JSON-ready dict of the event (``type`` names the class; ``audit``, when it has one, is
    :meth:`Audit.to_dict`)."""
    data: dict[str, object] = {"type": event.name}
    for field in attrs.fields(type(event)):
        value = getattr(event, field.name)
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        elif isinstance(value, Plan):
            value = value.value
        elif isinstance(value, Audit):
            value = value.to_dict()
        elif field.name == "audit":
            continue
        data[field.name] = value
    return data


def event_from_dict(data: dict[str, object]) -> Event:
    """The inverse of :func:`event_to_dict`."""
    cls = EVENT_TYPES[str(data["type"])]
    kwargs: dict[str, object] = {}
    for field in attrs.fields(cls):
        if field.name == "audit":
            audit = data.get("audit")
            kwargs["audit"] = None if audit is None else Audit.from_dict(audit)
            continue
        value = data[field.name]
        if field.type in ("dt.datetime", dt.datetime):
            value = dt.datetime.fromisoformat(str(value))
        elif field.type in ("Plan", Plan):
            value = Plan(value)
        kwargs[field.name] = value
    return cls(**kwargs)  # type: ignore[arg-type]
