"""The messages resellers and distributors' staff receive, as the domain names them.

The domain decides *which* message is due and with which facts (``MessageKind`` and a context of
plain strings); ``reseller_plans.mail`` renders it and a ``Mailer`` sends it. Context keys in use:

``reseller_name``, ``distributor_name``, ``account_id``, ``subscription_id``, ``plan``,
``old_plan``, ``new_plan``, ``alias``, ``storefront_url``, ``distributor_storefront_url``,
``effective_at`` (ISO 8601), ``alias_held_until`` (ISO 8601), ``reason``.
"""

from __future__ import annotations

import enum

__all__ = ["MessageKind", "MessageStatus"]


class MessageStatus(enum.Enum):
    """Where a message of the outbox stands."""

    WAITING = "waiting"
    """Not sent yet: it goes (again) on the next send, or the next ``run_due``."""
    SENT = "sent"
    """The mail server accepted it."""
    FAILED = "failed"
    """The mail server refused it for good: it waits for someone to resend it."""


class MessageKind(enum.Enum):
    """Every message the library sends."""

    WELCOME = "welcome"
    """A plan was activated: log in and customize your Customer Portal (Standard: with URL)."""
    PLAN_UPGRADED = "plan_upgraded"
    """Free → Standard applied: the new storefront URL."""
    PLAN_CHANGE_SCHEDULED = "plan_change_scheduled"
    PLAN_CHANGED = "plan_changed"
    CANCELLATION_SCHEDULED = "cancellation_scheduled"
    CANCELLATION_WITHDRAWN = "cancellation_withdrawn"
    CANCELLED = "cancelled"
    """Back to Basic: what that means for the storefront and the held alias."""
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    PROVISIONING_FAILED = "provisioning_failed"
    """To the distributor's staff: the reason and how to retry."""
