"""Bulk upgrades over the in-memory ports: rows, waves for shared aliases, resumability."""

from __future__ import annotations

import io

import pytest

from reseller_plans import InvalidInput, Plan
from reseller_plans.bulk import BulkUpgrade, RowOutcome, UpgradeRow, read_upgrade_rows
from reseller_plans.testing.faults import SimulatedCrash
from service_world import World, make_world


@pytest.fixture
def world() -> World:
    w = make_world()
    for n in range(12):
        w.reseller(str(1000 + n))
    return w


def test_rows_read_from_csv_keep_their_line_and_key() -> None:
    rows = read_upgrade_rows(
        io.StringIO("Account,Plan,Alias,key\n1000,Standard,Shop-One,k1\n1001,free,,\n")
    )
    assert rows == [
        UpgradeRow(2, "1000", Plan.STANDARD, "Shop-One", "k1"),
        UpgradeRow(3, "1001", Plan.FREE, None, "bulk:1001:free:"),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("account,plan\n1,free\n", "columns alias"),
        ("account,plan,alias\n1,free,abc,extra\n", "line 2: more fields"),
        ("account,plan,alias\n1,basic,abc\n", "line 2: Basic is not an upgrade"),
        ("account,plan,alias\n1,free,abc\n1,free,abc\n", "line 3: the same row as line 2"),
        ("account,plan,alias\n1,free,-x-\n", "line 2: invalid Storefront Alias"),
    ],
)
def test_a_malformed_csv_names_the_line(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        read_upgrade_rows(io.StringIO(text))


def test_rows_sharing_an_alias_go_in_their_order_whatever_the_concurrency(world: World) -> None:
    rows = [UpgradeRow.of(str(1000 + n), "free", f"shop{n}") for n in range(10)]
    rows.insert(3, UpgradeRow.of("1011", "free", "shop0"))  # wants the alias of the first row
    report = BulkUpgrade(world.plans, world.disti, concurrency=8).run(rows)
    outcomes = [r.outcome for r in report.results]
    assert outcomes[0] is RowOutcome.DONE
    assert outcomes[3] is RowOutcome.FAILED
    assert report.results[3].codes == ("ALIAS_TAKEN",)
    assert outcomes.count(RowOutcome.DONE) == 10
    assert [r.row for r in report.results] == rows  # the report keeps the rows' order


def test_a_rerun_after_a_crash_skips_done_rows_and_finishes_the_rest(world: World) -> None:
    rows = [UpgradeRow.of(str(1000 + n), "standard", f"shop{n}") for n in range(6)]
    world.faults.crash("storefront.activate_storefront", on_call=4)
    with pytest.raises(SimulatedCrash):
        BulkUpgrade(world.plans, world.disti, concurrency=1).run(rows)
    plans = world.restart()
    report = BulkUpgrade(plans, world.disti, concurrency=3).run(rows)
    outcomes = [r.outcome.value for r in report.results]
    # rows 1-3 were done; row 4 crashed mid-provisioning and is finished; 5-6 never started
    assert outcomes == ["skipped"] * 3 + ["done"] * 3
    assert len(world.bss.orders) == 6
    assert world.check_invariants() == []


def test_concurrency_must_be_positive(world: World) -> None:
    with pytest.raises(InvalidInput):
        BulkUpgrade(world.plans, world.disti, concurrency=0)
