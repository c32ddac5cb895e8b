"""Who is acting: a distributor or a reseller."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reseller_plans import Actor, InvalidInput
from reseller_plans.domain import ActorKind


def test_distributor_actor_is_a_distributor_with_its_id() -> None:
    actor = Actor.distributor("D-100")

    assert (actor.kind, actor.id, actor.is_distributor) == (ActorKind.DISTRIBUTOR, "D-100", True)
    assert str(actor) == "distributor D-100"


def test_reseller_actor_is_not_a_distributor() -> None:
    actor = Actor.reseller("3542")

    assert (actor.kind, actor.id, actor.is_distributor) == (ActorKind.RESELLER, "3542", False)
    assert str(actor) == "reseller 3542"


def test_numeric_ids_are_read_as_text() -> None:
    assert Actor.reseller(3542) == Actor.reseller("3542")  # type: ignore[arg-type]


def test_same_id_under_another_kind_is_another_actor() -> None:
    # A reseller whose account id equals a distributor id must not pass as that distributor.
    assert Actor.reseller("D-100") != Actor.distributor("D-100")


def test_actor_is_a_frozen_hashable_value() -> None:
    actor = Actor.distributor("D-100")

    assert {actor, Actor.distributor("D-100")} == {actor}
    with pytest.raises(AttributeError):
        actor.id = "D-200"  # type: ignore[misc]


@pytest.mark.parametrize("make", [Actor.distributor, Actor.reseller])
def test_actor_without_an_id_is_refused(make: Callable[[str], Actor]) -> None:
    with pytest.raises(ValueError, match="id"):
        make("")


@pytest.mark.parametrize("bad_id", ["", None], ids=["empty", "None"])
def test_actor_without_an_id_is_refused_as_invalid_input(bad_id: str | None) -> None:
    with pytest.raises(InvalidInput):
        Actor.distributor(bad_id)  # type: ignore[arg-type]
