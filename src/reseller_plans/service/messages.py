"""What a message says and who receives it: recipients and template contexts, as plain values.

The domain names the messages that are due (``reseller_plans.domain.effects``); the facts
they carry (the reseller's name and email, the distributor's name and storefront) come from the
BSS. This module turns those facts into a :class:`Draft` and a draft into outbox entries. It
reads nothing itself: the drivers pass in what they read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

from reseller_plans.domain.accounts import DistributorProfile, ResellerAccount
from reseller_plans.domain.effects import Audience, QueuedMessage
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.saga import SagaStep
from reseller_plans.domain.subscription import Subscription
from reseller_plans.ports import OutboxEntry

__all__ = [
    "Draft",
    "command_entry",
    "date_text",
    "failure_draft",
    "outbox_entries",
    "reseller_context",
    "reseller_draft",
]


def date_text(when: dt.datetime) -> str:
    """A date as people read it in an email (``25 December 2026``, in UTC)."""
    day = when.astimezone(dt.UTC)
    return f"{day.day} {day:%B %Y}"


@attrs.frozen
class Draft:
    """The recipients and template context a message of one audience gets."""

    to: tuple[str, ...] = ()
    context: Mapping[str, str] = attrs.field(factory=dict)


def reseller_context(
    sub: Subscription, account: ResellerAccount, distributor: DistributorProfile
) -> dict[str, str]:
    """The facts every message to the reseller carries."""
    host = distributor.storefront_host
    context = {
        "reseller_name": account.name,
        "distributor_name": distributor.name,
        "account_id": sub.account_id,
        "subscription_id": sub.id,
        "plan": sub.plan.value,
        "alias": "" if sub.alias is None else sub.alias.value,
    }
    if host:
        context["distributor_storefront_url"] = host if "://" in host else f"https://{host}"
        if sub.alias is not None:
            context["storefront_url"] = sub.alias.url(host)
    return context


def reseller_draft(
    sub: Subscription,
    step: SagaStep,
    account: ResellerAccount,
    distributor: DistributorProfile,
    *,
    now: dt.datetime,
    alias_hold: dt.timedelta,
) -> Draft:
    """The draft of the email an operation sends the reseller when it completes."""
    context = reseller_context(sub, account, distributor)
    op = sub.operation
    if op is not None:
        context.update(
            plan=op.plan.value,
            old_plan=op.previous_plan.value,
            new_plan=op.plan.value,
            reason=op.detail or "not given",
            effective_at=date_text(now),
        )
        if op.plan.has_storefront and sub.alias and distributor.storefront_host:
            context["storefront_url"] = sub.alias.url(distributor.storefront_host)
    if step.message is MessageKind.CANCELLED and sub.alias is not None:
        context["alias_held_until"] = date_text(now + alias_hold)
    return Draft((account.email,), context)


def failure_draft(
    sub: Subscription, distributor: DistributorProfile | None, staff_email: str | None
) -> Draft:
    """The draft of a note to the distributor's staff (``distributor`` None: it could not be
    read, and the note goes to the configured ``staff_email``, if any)."""
    staff, name = staff_email, sub.distributor_id
    if distributor is not None:
        staff = distributor.staff_email or staff
        name = distributor.name
    context = {
        "reseller_name": sub.account_id,
        "distributor_name": name,
        "account_id": sub.account_id,
        "subscription_id": sub.id,
        "plan": sub.plan.value,
        "alias": "" if sub.alias is None else sub.alias.value,
    }
    return Draft((staff,) if staff else (), context)


def outbox_entries(
    sub_id: str, messages: tuple[QueuedMessage, ...], draft: Draft, at: dt.datetime
) -> list[OutboxEntry]:
    """The outbox entries of the messages an outcome queued, addressed with ``draft``.

    A staff note with nobody to send it to is not queued (no staff email is known).
    """
    entries = []
    for message in messages:
        context = dict(draft.context)
        if message.audience is Audience.STAFF:
            if not draft.to:
                continue
            context["reason"] = message.reason
        entries.append(OutboxEntry(message.id, sub_id, message.kind, draft.to, context, at))
    return entries


def command_entry(
    before: Subscription,
    version: int,
    kind: MessageKind,
    extra: Mapping[str, str],
    account: ResellerAccount,
    distributor: DistributorProfile,
    at: dt.datetime,
) -> OutboxEntry:
    """The email a command sends at once (a change scheduled or withdrawn)."""
    context = {**reseller_context(before, account, distributor), **extra}
    return OutboxEntry(
        f"{before.id}-{version}:{kind.value}", before.id, kind, (account.email,), context, at
    )
