"""The transition table checked as a definition (what python-statemachine's factory checks):
one initial state, final states without exits, every state reachable, no dead ends.
"""

from __future__ import annotations

from collections import defaultdict

from reseller_plans.domain import lifecycle
from reseller_plans.domain.subscription import SubscriptionStatus

S = SubscriptionStatus


def _edges() -> dict[SubscriptionStatus, set[SubscriptionStatus]]:
    """The states each state can move to (self-loops included)."""
    edges: dict[SubscriptionStatus, set[SubscriptionStatus]] = defaultdict(set)
    for row in lifecycle.TRANSITIONS:
        edges[row.source].add(row.target)
    return edges


def _reachable_from(start: SubscriptionStatus) -> set[SubscriptionStatus]:
    edges = _edges()
    seen, frontier = {start}, [start]
    while frontier:
        for target in edges[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_the_initial_state_is_pending() -> None:
    assert lifecycle.INITIAL_STATE is S.PENDING


def test_the_initial_state_is_the_only_one_no_other_state_leads_into() -> None:
    entered = {row.target for row in lifecycle.TRANSITIONS if row.target is not row.source}
    never_entered = set(SubscriptionStatus) - entered
    assert never_entered == {lifecycle.INITIAL_STATE}


def test_the_final_states_are_cancelled_and_failed_and_say_so() -> None:
    finals = {s for s in SubscriptionStatus if s.is_final}
    assert finals == {S.CANCELLED, S.FAILED}
    assert finals == lifecycle.FINAL_STATES
    assert lifecycle.INITIAL_STATE not in lifecycle.FINAL_STATES


def test_final_states_have_no_outgoing_rows() -> None:
    leaving = [row for row in lifecycle.TRANSITIONS if row.source in lifecycle.FINAL_STATES]
    assert leaving == []


def test_every_final_state_is_entered_by_some_row() -> None:
    entered = {row.target for row in lifecycle.TRANSITIONS}
    assert entered >= lifecycle.FINAL_STATES


def test_every_state_is_reachable_from_the_initial_state() -> None:
    assert _reachable_from(lifecycle.INITIAL_STATE) == set(SubscriptionStatus)


def test_no_dead_ends_a_final_state_is_reachable_from_every_other_state() -> None:
    for state in set(SubscriptionStatus) - lifecycle.FINAL_STATES:
        assert _reachable_from(state) & lifecycle.FINAL_STATES, f"{state.value} is a dead end"


def test_every_trigger_is_used_by_some_row() -> None:
    assert {row.trigger for row in lifecycle.TRANSITIONS} == set(lifecycle.Trigger)


def test_every_row_has_at_least_one_guard() -> None:
    # Every row at least checks that no operation is in progress (or that one has failed).
    unguarded = [row for row in lifecycle.TRANSITIONS if not row.guards]
    assert unguarded == []


def test_the_diagram_has_one_arrow_per_distinct_edge_and_marks_initial_and_final_states() -> None:
    lines = lifecycle.mermaid_diagram().splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert lines[1] == f"    [*] --> {lifecycle.INITIAL_STATE.value}"
    edges = {(r.source.value, r.target.value, r.trigger.value) for r in lifecycle.TRANSITIONS}
    arrows = [line for line in lines if ": " in line]
    assert sorted(arrows) == sorted(f"    {s} --> {t}: {trig}" for s, t, trig in edges)
    finals = sorted(f"    {s.value} --> [*]" for s in lifecycle.FINAL_STATES)
    assert lines[-len(finals) :] == finals


def test_the_diagram_shows_a_repeated_edge_once() -> None:
    row = lifecycle.TRANSITIONS[0]
    text = lifecycle.mermaid_diagram([row, row])
    assert text.count(f"{row.source.value} --> {row.target.value}: {row.trigger.value}") == 1
