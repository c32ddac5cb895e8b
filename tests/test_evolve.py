"""``reseller_plans.domain.evolve`` gives what ``attrs.evolve`` gives, for the domain's values."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle_builders import make_operation, make_subscription
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.evolve import evolve
from reseller_plans.domain.subscription import (
    Operation,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
)
from strategies import operations, plans, subscriptions

subscription_changes = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(SubscriptionStatus),
        "plan": plans,
        "operation": st.none() | operations(),
        "version": st.integers(1, 100),
        "failure_reason": st.none() | st.text(max_size=5),
    },
)
operation_changes = st.fixed_dictionaries(
    {},
    optional={
        "done": st.integers(0, 5),
        "undone": st.integers(0, 5),
        "compensating": st.booleans(),
        "sync": st.sampled_from(SyncStatus),
        "reason": st.none() | st.text(max_size=5),
    },
)


@given(subscriptions(), subscription_changes)
def test_a_subscription_evolves_as_with_attrs(sub: Subscription, changes: dict[str, Any]) -> None:
    evolved = evolve(sub, **changes)

    assert evolved == attrs.evolve(sub, **changes)
    assert evolved is not sub
    assert type(evolved) is Subscription


@given(operations(), operation_changes)
def test_an_operation_evolves_as_with_attrs(op: Operation, changes: dict[str, Any]) -> None:
    assert evolve(op, **changes) == attrs.evolve(op, **changes)


@given(subscriptions())
def test_the_original_is_left_alone(sub: Subscription) -> None:
    before = attrs.astuple(sub, recurse=False)

    evolve(sub, version=sub.version + 1, operation=None)

    assert attrs.astuple(sub, recurse=False) == before


@pytest.mark.parametrize("value", [make_operation(), make_subscription()], ids=["op", "sub"])
def test_a_change_to_no_field_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="has no field colour"):
        evolve(value, colour="red")


def test_a_field_named_value_can_change() -> None:
    alias = StorefrontAlias.parse("acme")

    assert evolve(alias, value="globex") == attrs.evolve(alias, value="globex")


@attrs.frozen
class _Wrapper:
    items: tuple[int, ...]


def test_a_slotted_value_of_one_field_evolves() -> None:
    assert evolve(_Wrapper((7,))) == _Wrapper((7,))
    assert evolve(_Wrapper((7,)), items=(8,)) == _Wrapper((8,))
