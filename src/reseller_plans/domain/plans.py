"""The three reseller plans and the legal moves between them.

Every reseller is on exactly one plan. ``Plan.BASIC`` is the default and is held without a
subscription; ``Plan.FREE`` and ``Plan.STANDARD`` are each held by one live reseller-plan
subscription. The table ``PLAN_MOVES`` is the only place that says which move is legal and when it
takes effect by default (see ``docs/concepts.md``).
"""

from __future__ import annotations

import attrs

from reseller_plans.domain.enums import DomainEnum
from reseller_plans.domain.errors import InvalidInput

__all__ = ["Move", "PLAN_MOVES", "Plan", "Timing", "plan_move"]


class Plan(DomainEnum):
    """A reseller plan."""

    BASIC = "basic"
    """Free access to the distributor's Storefront; no subscription."""
    FREE = "free"
    """The reseller's own Customer Portal, at no cost."""
    STANDARD = "standard"
    """A white-label Storefront under the reseller's alias, own catalog and a writing API."""

    @property
    def title(self) -> str:
        """The plan's name as a person reads it (``"Standard"``)."""
        return self.value.capitalize()

    @property
    def is_subscription(self) -> bool:
        """True for the plans held by a subscription (Free and Standard)."""
        return self is not Plan.BASIC

    @property
    def has_storefront(self) -> bool:
        """True for the plan that puts the reseller's own Storefront online."""
        return self is Plan.STANDARD

    @classmethod
    def parse(cls, value: str | Plan) -> Plan:
        """Read a plan from its name, case-insensitively (``"standard"``, ``"Standard"``).

        Raises:
            InvalidInput: the text names no plan (also a ``ValueError``).
        """
        if isinstance(value, Plan):
            return value
        text = str(value).strip().lower()
        for plan in cls:
            if plan.value == text:
                return plan
        names = ", ".join(p.value for p in cls)
        raise InvalidInput(f"unknown plan {value!r}: expected one of {names}")


class Timing(DomainEnum):
    """When a change takes effect."""

    IMMEDIATE = "immediate"
    END_OF_TERM = "end_of_term"


@attrs.frozen
class Move:
    """A move from one plan to another, legal or not.

    Attributes:
        source: the plan the reseller is on.
        target: the plan asked for.
        legal: whether the platform allows the move.
        timing: when a legal move takes effect by default (``None`` for an illegal one).
        how: how the move is made on the platform, or why it is refused.
    """

    source: Plan
    target: Plan
    legal: bool
    timing: Timing | None
    how: str


_PURCHASE = "an order for the plan product, executed in the BSS or bought in the Storefront"

PLAN_MOVES: dict[tuple[Plan, Plan], Move] = {
    (Plan.BASIC, Plan.FREE): Move(Plan.BASIC, Plan.FREE, True, Timing.IMMEDIATE, _PURCHASE),
    (Plan.BASIC, Plan.STANDARD): Move(Plan.BASIC, Plan.STANDARD, True, Timing.IMMEDIATE, _PURCHASE),
    (Plan.FREE, Plan.STANDARD): Move(
        Plan.FREE, Plan.STANDARD, True, Timing.IMMEDIATE, "a purchase of the Standard product"
    ),
    (Plan.STANDARD, Plan.FREE): Move(
        Plan.STANDARD,
        Plan.FREE,
        True,
        Timing.END_OF_TERM,
        "a plan change, by default at the end of the current term",
    ),
    (Plan.FREE, Plan.BASIC): Move(
        Plan.FREE, Plan.BASIC, True, Timing.IMMEDIATE, "a cancellation of the subscription"
    ),
    (Plan.STANDARD, Plan.BASIC): Move(
        Plan.STANDARD, Plan.BASIC, True, Timing.IMMEDIATE, "a cancellation of the subscription"
    ),
}
"""The legal moves, keyed by (from, to). Anything not in this table is illegal."""


def plan_move(source: Plan, target: Plan) -> Move:
    """Name the move from ``source`` to ``target``: legal with its default timing, or illegal
    with the reason.
    """
    move = PLAN_MOVES.get((source, target))
    if move is not None:
        return move
    if source is target:
        reason = f"the reseller is already on the {source.title} plan"
    else:  # pragma: no cover - every other pair is in the table; kept for a future plan
        reason = f"the platform has no move from {source.title} to {target.title}"
    return Move(source, target, False, None, reason)
