"""The three plans, the table of legal moves and reading a plan from text."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest

from reseller_plans import InvalidInput, Move, Plan, Timing, plan_move
from reseller_plans.domain import PLAN_MOVES

# The table of DOMAIN.md "Moves between plans", written out again here on purpose: a change to
# PLAN_MOVES must be a change to this list too.
LEGAL_MOVES = [
    (Plan.BASIC, Plan.FREE, Timing.IMMEDIATE),
    (Plan.BASIC, Plan.STANDARD, Timing.IMMEDIATE),
    (Plan.FREE, Plan.STANDARD, Timing.IMMEDIATE),
    (Plan.STANDARD, Plan.FREE, Timing.END_OF_TERM),
    (Plan.FREE, Plan.BASIC, Timing.IMMEDIATE),
    (Plan.STANDARD, Plan.BASIC, Timing.IMMEDIATE),
]
ILLEGAL_MOVES = [(Plan.BASIC, Plan.BASIC), (Plan.FREE, Plan.FREE), (Plan.STANDARD, Plan.STANDARD)]


def _ids(cases: Sequence[tuple[Any, ...]]) -> list[str]:
    return [f"{case[0].value}->{case[1].value}" for case in cases]


@pytest.mark.parametrize(("source", "target", "timing"), LEGAL_MOVES, ids=_ids(LEGAL_MOVES))
def test_legal_move_is_allowed_with_its_default_timing(
    source: Plan, target: Plan, timing: Timing
) -> None:
    move = plan_move(source, target)

    assert move == Move(source, target, True, timing, move.how)
    assert move.how


@pytest.mark.parametrize(("source", "target"), ILLEGAL_MOVES, ids=_ids(ILLEGAL_MOVES))
def test_move_to_the_plan_already_held_is_illegal_and_says_why(source: Plan, target: Plan) -> None:
    move = plan_move(source, target)

    assert not move.legal
    assert move.timing is None
    assert f"already on the {source.title} plan" in move.how


def test_plan_moves_table_holds_exactly_the_documented_legal_moves() -> None:
    assert set(PLAN_MOVES) == {(source, target) for source, target, _ in LEGAL_MOVES}
    for (source, target), move in PLAN_MOVES.items():
        assert (move.source, move.target, move.legal) == (source, target, True)


def test_every_pair_of_plans_is_either_legal_or_illegal() -> None:
    legal = {(source, target) for source, target, _ in LEGAL_MOVES}
    for source, target in itertools.product(Plan, repeat=2):
        assert plan_move(source, target).legal is ((source, target) in legal)


def test_only_standard_to_free_waits_for_the_end_of_the_term_by_default() -> None:
    waiting = {key for key, move in PLAN_MOVES.items() if move.timing is Timing.END_OF_TERM}

    assert waiting == {(Plan.STANDARD, Plan.FREE)}


def test_cancellation_moves_say_they_are_cancellations() -> None:
    for source in (Plan.FREE, Plan.STANDARD):
        assert "cancellation" in plan_move(source, Plan.BASIC).how


def test_move_is_a_frozen_value() -> None:
    move = plan_move(Plan.BASIC, Plan.FREE)

    with pytest.raises(AttributeError):
        move.legal = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "plan"),
    [
        ("basic", Plan.BASIC),
        ("free", Plan.FREE),
        ("standard", Plan.STANDARD),
        ("Standard", Plan.STANDARD),
        ("STANDARD", Plan.STANDARD),
        ("  Free\n", Plan.FREE),
        (Plan.STANDARD, Plan.STANDARD),
    ],
)
def test_plan_parse_reads_a_plan_name_in_any_case_and_spacing(text: str | Plan, plan: Plan) -> None:
    assert Plan.parse(text) is plan


@pytest.mark.parametrize("text", ["", " ", "gold", "standard edition", "lite", "Plan.FREE", "0"])
def test_plan_parse_refuses_text_that_names_no_plan_and_lists_the_choices(text: str) -> None:
    with pytest.raises(ValueError, match="unknown plan") as info:
        Plan.parse(text)

    assert "basic, free, standard" in str(info.value)


def test_plan_parse_refuses_an_unknown_plan_as_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        Plan.parse("gold")


@pytest.mark.parametrize(
    ("plan", "title", "is_subscription", "has_storefront"),
    [
        (Plan.BASIC, "Basic", False, False),
        (Plan.FREE, "Free", True, False),
        (Plan.STANDARD, "Standard", True, True),
    ],
)
def test_plan_knows_its_title_whether_it_is_a_subscription_and_whether_it_has_a_storefront(
    plan: Plan, title: str, is_subscription: bool, has_storefront: bool
) -> None:
    assert (plan.title, plan.is_subscription, plan.has_storefront) == (
        title,
        is_subscription,
        has_storefront,
    )
