"""What planners decide on and what they decide: facts, decisions, and an upgrade's request.

A planner (``reseller_plans.service.planning``) is given :class:`Facts` and returns a
:class:`Decision`: a :class:`Commit`, a :class:`Refusal`, or a :class:`Need` for a fact it was
not given. These are plain values: every driver reads them the same way.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from reseller_plans.domain.accounts import DistributorProfile, ResellerAccount
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import ResellerPlansError
from reseller_plans.domain.events import Event
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import BillingCycle, Channel, Subscription
from reseller_plans.ports import AliasHold, OutboxEntry

__all__ = [
    "UNDER_WAY",
    "Commit",
    "Decision",
    "Facts",
    "Need",
    "Refusal",
    "Then",
    "UpgradeRequest",
]

UNDER_WAY = "an upgrade of this account is under way"


class Need(enum.Enum):
    """A fact a planner needs and was not given."""

    PROFILES = "profiles"
    """The reseller's account and its distributor's profile, from the BSS."""
    ALIAS_AVAILABILITY = "alias_availability"
    """Whether the Storefront has the alias free for the account."""


class Then(enum.Enum):
    """What follows a commit."""

    DRIVE = "drive"
    """Run the saga of the operation the commit started (then send the outbox)."""
    SEND = "send"
    """Send the subscription's waiting messages."""


@attrs.frozen
class Facts:
    """What a planner decides on. Optional facts are read when a planner asks (:class:`Need`).

    Attributes:
        now: the command's instant.
        account: the reseller account.
        distributor: the profile of the account's distributor.
        live: the account's live subscription (for an upgrade or a check).
        hold: the store's reservation of the alias asked for, if any.
        alias_free: whether the Storefront has that alias free for the account.
    """

    now: dt.datetime
    account: ResellerAccount | None = None
    distributor: DistributorProfile | None = None
    live: Subscription | None = None
    hold: AliasHold | None = None
    alias_free: bool | None = None


@attrs.frozen
class Commit:
    """What a command writes in one unit of work.

    Attributes:
        subscription: the subscription as it is to be stored.
        events: the events to append to its history.
        expected_version: the version it must still be at; None for a new subscription.
        reserve_alias: reserve this alias to the account in the store (refused with
            ``AliasTaken`` if another account holds it by then).
        message: an email queued at once.
        then: what the driver does after the commit.
    """

    subscription: Subscription
    events: tuple[Event, ...] = ()
    expected_version: int | None = None
    reserve_alias: str | None = None
    message: OutboxEntry | None = None
    then: Then = Then.DRIVE


@attrs.frozen
class Refusal:
    """The command is refused with ``error``, and nothing changes."""

    error: ResellerPlansError


Decision = Commit | Refusal | Need


@attrs.frozen
class UpgradeRequest:
    """An upgrade as asked for, its input already parsed."""

    account_id: str
    plan: Plan
    actor: Actor
    alias: StorefrontAlias | None
    billing_cycle: BillingCycle
    auto_renew: bool
    channel: Channel | None
    platform_subscription_id: str | None
