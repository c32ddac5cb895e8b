"""Each command reads what it decides on once: no subscription reloaded that the driver holds,
the distributor's profile read once per command.

``tests/read_counting.py`` counts the reads; run as a script, it prints the table. Before the
service became a package an upgrade made 11 store reads (8 of them of subscriptions); it makes 4.
"""

from __future__ import annotations

import pytest

from read_counting import CountingWorld, measure_all, scenarios

# command: (store reads, subscription reads, distributor reads, backend reads)
EXPECTED = {
    # live subscription and alias hold; the commit's re-check of the live one; the outbox.
    "upgrade": (4, 2, 1, 3),
    "upgrade Free → Standard": (2, 1, 1, 2),
    "change_plan now": (2, 1, 1, 2),
    "change_plan at term end": (2, 1, 1, 2),
    "cancel now": (2, 1, 1, 2),
    "cancel at term end": (2, 1, 1, 2),
    "withdraw_change": (2, 1, 1, 2),
    "suspend": (2, 1, 1, 2),
    "resume": (2, 1, 1, 2),
    "retry": (2, 1, 1, 2),
    "run_due (a renewal)": (5, 1, 0, 0),
    "check": (2, 1, 1, 3),
}


@pytest.fixture(scope="module")
def reads() -> dict[str, dict[str, int]]:
    return measure_all()


@pytest.mark.parametrize("command", list(EXPECTED))
def test_each_command_reads_the_store_and_backends_exactly_as_counted(
    reads: dict[str, dict[str, int]], command: str
) -> None:
    counts = reads[command]
    got = (counts["store"], counts["subscriptions"], counts["distributor"], counts["backend"])
    assert got == EXPECTED[command]


@pytest.mark.parametrize("command", list(EXPECTED))
def test_no_command_reads_the_distributor_profile_twice(
    reads: dict[str, dict[str, int]], command: str
) -> None:
    assert reads[command]["distributor"] <= 1


def test_a_saga_of_many_steps_reads_its_subscription_no_more_than_a_short_one() -> None:
    # An upgrade runs five steps and a resumption three; neither reloads between steps.
    world = CountingWorld()
    upgrade = world.measure(scenarios()["upgrade"](world))
    world = CountingWorld()
    resume = world.measure(scenarios()["resume"](world))
    assert upgrade["subscriptions"] <= 2
    assert resume["subscriptions"] == 1


def test_every_scenario_is_pinned() -> None:
    assert set(scenarios()) == set(EXPECTED)
