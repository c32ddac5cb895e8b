"""The service's inputs, parsed at the façade: a caller's mistake is an ``InvalidInput``.

Every argument a host passes to ``ResellerPlans`` goes through one of these before anything is
read or written, so a wrong type or an unstorable text is refused with a message that names
the argument, instead of an ``AttributeError`` from deep inside or a silent other meaning:

- an actor must be an :class:`~reseller_plans.Actor`, not its id as text;
- plans, timings, billing cycles and channels are their enum, or one of its values as text,
  case-insensitively (``"immediate"``, ``"END_OF_TERM"``); anything else is refused;
- ids and texts must be ``str`` without a NUL character or a lone surrogate (no store can
  hold those; ``reseller_plans.domain.text``);
- instants must be timezone-aware ``datetime`` values, also those a ``Clock`` returns
  (:class:`CheckedClock`).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TypeVar

from reseller_plans.domain.accounts import ResellerAccount
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.plans import Plan, Timing
from reseller_plans.domain.subscription import BillingCycle, Channel
from reseller_plans.domain.text import storable_text
from reseller_plans.ports import Clock
from reseller_plans.service.decisions import UpgradeRequest

__all__ = [
    "CheckedClock",
    "check_arguments",
    "choice",
    "same_account",
    "parse_actor",
    "parse_alias",
    "parse_billing_cycle",
    "parse_channel",
    "command_arguments",
    "flag",
    "identifier",
    "instant",
    "optional_identifier",
    "parse_plan",
    "reason",
    "text",
    "parse_timing",
    "upgrade_request",
]

E = TypeVar("E", bound=enum.Enum)
_MAX_REASON = 500


def parse_actor(value: object) -> Actor:
    """``value`` as the acting party.

    Raises:
        InvalidInput: it is not an ``Actor`` (for example the distributor's id as text).
    """
    if not isinstance(value, Actor):
        raise InvalidInput(
            f"actor must be an Actor (Actor.distributor(...) or Actor.reseller(...)), "
            f"not {type(value).__name__} {value!r}"
        )
    storable_text(value.id, "the actor's id")
    return value


def identifier(value: object, what: str) -> str:
    """``value`` as an id: non-empty, storable text.

    Raises:
        InvalidInput: it is not text, is empty, or holds what no store can hold.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text (str), not {type(value).__name__} {value!r}")
    if not value.strip():
        raise InvalidInput(f"{what} must not be empty")
    return storable_text(value, what)


def optional_identifier(value: object, what: str) -> str | None:
    """``value`` as an id, or None."""
    return None if value is None else identifier(value, what)


def text(value: object, what: str) -> str:
    """``value`` as storable text (it may be empty).

    Raises:
        InvalidInput: it is not text, or holds what no store can hold.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text (str), not {type(value).__name__} {value!r}")
    return storable_text(value, what)


def reason(value: object) -> str | None:
    """The reason given for the audit trail: text of at most 500 characters, or None (empty
    text is none).

    Raises:
        InvalidInput: not text, or too long.
    """
    if value is None:
        return None
    why = text(value, "reason")
    if len(why) > _MAX_REASON:
        raise InvalidInput(f"a reason is at most {_MAX_REASON} characters, not {len(why)}")
    return why or None


def flag(value: object, what: str) -> bool:
    """``value`` as a yes or no.

    Raises:
        InvalidInput: it is not a ``bool`` (``"false"`` would otherwise mean yes).
    """
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be True or False, not {value!r}")
    return value


def choice(kind: type[E], value: object, what: str) -> E:
    """``value`` as a member of the enumeration ``kind``: a member, or its value in text.

    Raises:
        InvalidInput: it names no member.
    """
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        wanted = value.strip().lower()
        for member in kind:
            if str(member.value) == wanted:
                return member
    names = ", ".join(repr(m.value) for m in kind)
    raise InvalidInput(f"{what} must be a {kind.__name__} or one of {names}, not {value!r}")


def parse_plan(value: object) -> Plan:
    """``value`` as a plan (``Plan.STANDARD`` or ``"standard"``).

    Raises:
        InvalidInput: it names no plan.
    """
    if not isinstance(value, (Plan, str)):
        raise InvalidInput(f"plan must be a Plan or its name, not {type(value).__name__} {value!r}")
    return Plan.parse(value)


def parse_timing(value: object) -> Timing:
    """``value`` as a timing (``Timing.IMMEDIATE`` or ``"immediate"``).

    Raises:
        InvalidInput: it names no timing.
    """
    return choice(Timing, value, "timing")


def parse_billing_cycle(value: object) -> BillingCycle:
    """``value`` as a billing cycle (``BillingCycle.ANNUAL`` or ``"annual"``).

    Raises:
        InvalidInput: it names no billing cycle.
    """
    return choice(BillingCycle, value, "billing_cycle")


def parse_channel(value: object) -> Channel:
    """``value`` as a channel (``Channel.BSS`` or ``"bss"``).

    Raises:
        InvalidInput: it names no channel.
    """
    return choice(Channel, value, "channel")


def instant(value: object, what: str) -> dt.datetime:
    """``value`` as an instant: a timezone-aware ``datetime``.

    Raises:
        InvalidInput: a ``date``, a naive ``datetime``, or anything else.
    """
    if not isinstance(value, dt.datetime):
        raise InvalidInput(
            f"{what} must be a timezone-aware datetime, not {type(value).__name__} {value!r}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{what} must be timezone-aware, not the naive {value.isoformat()}: "
            "give it a tzinfo, for example datetime.now(datetime.UTC)"
        )
    return value


class CheckedClock:
    """A ``Clock`` that refuses, at the first read, a clock that returns naive datetimes.

    Args:
        clock: the host's clock.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> dt.datetime:
        """The clock's now.

        Raises:
            InvalidInput: the clock returned something other than an aware datetime.
        """
        value = self.clock.now()
        if isinstance(value, dt.datetime) and value.utcoffset() is not None:
            return value
        raise InvalidInput(
            f"the clock {self.clock!r} returned {value!r}: a Clock must return "
            "timezone-aware datetimes (UTC)"
        )

    def __repr__(self) -> str:
        return repr(self.clock)


def upgrade_request(
    account_id: object,
    plan: object,
    actor: object,
    billing_cycle: object,
    auto_renew: object,
    channel: object,
    platform_subscription_id: object,
) -> UpgradeRequest:
    """An upgrade's arguments, parsed (its alias is parsed apart: an invalid one is a rule)."""
    target = parse_plan(plan)
    if target is Plan.BASIC:
        raise InvalidInput("Basic is not an upgrade: cancel the subscription instead")
    return UpgradeRequest(
        identifier(account_id, "account_id"),
        target,
        parse_actor(actor),
        None,
        parse_billing_cycle(billing_cycle),
        flag(auto_renew, "auto_renew"),
        None if channel is None else parse_channel(channel),
        optional_identifier(platform_subscription_id, "platform_subscription_id"),
    )


def command_arguments(
    subscription_id: object, actor: object, key: object
) -> tuple[str, Actor, str | None]:
    """The arguments every command on a subscription takes, parsed."""
    return (
        identifier(subscription_id, "subscription_id"),
        parse_actor(actor),
        optional_identifier(key, "idempotency_key"),
    )


def parse_alias(alias: object) -> StorefrontAlias | None:
    """``alias`` parsed, or None.

    Raises:
        InvalidAlias: it breaks a rule of Storefront Aliases.
    """
    if alias is None:
        return None
    return StorefrontAlias.parse(alias)  # type: ignore[arg-type]  # it refuses what is not text


def check_arguments(
    account_id: object, plan: object, actor: object, alias: object
) -> tuple[str, Plan, Actor, str | None]:
    """A check's arguments, parsed (its alias is only text: the check reports its rules)."""
    return (
        identifier(account_id, "account_id"),
        parse_plan(plan),
        parse_actor(actor),
        None if alias is None else text(alias, "alias"),
    )


def same_account(account: ResellerAccount | None, account_id: str) -> None:
    """Refuse an account the caller read that is not ``account_id``'s."""
    if account is not None and account.id != account_id:
        raise InvalidInput(f"the account given is {account.id!r}, not {account_id!r}")
