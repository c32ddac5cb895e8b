"""Bulk upgrades over the in-memory ports: rows, waves for shared aliases, resumability."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from reseller_plans import InvalidInput, Plan
from reseller_plans.bulk import (
    BulkUpgrade,
    RowOutcome,
    UpgradeRow,
    read_upgrade_csv,
    read_upgrade_rows,
)
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
    assert outcomes[3] is RowOutcome.INELIGIBLE  # refused by a rule, before anything was written
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


def test_a_bom_and_crlf_are_read_and_bad_rows_are_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(
        "\ufeffAccount,Plan,Alias\r\n1000,free,shop-one\r\n1001,gold,shop-two\r\n1002,free,x\r\n".encode()
    )
    read = read_upgrade_csv(path)
    assert [r.account_id for r in read.rows] == ["1000"]
    assert [(p.line, p.account_id) for p in read.problems] == [(3, "1001"), (4, "1002")]
    assert "gold" in read.problems[0].message


def test_a_missing_column_names_the_columns_found() -> None:
    with pytest.raises(InvalidInput, match="the columns found: account, plan, alais"):
        read_upgrade_csv(io.StringIO("account,plan,alais\n1,free,abc\n"))


def test_a_neutralised_report_cell_is_read_back_as_written() -> None:
    read = read_upgrade_csv(io.StringIO("account,plan,alias\n'-1000,free,shop-one\n"))
    assert read.rows[0].account_id == "-1000"


def test_the_dry_run_predicts_the_real_run_row_by_row(world: World) -> None:
    world.reseller("2000", distributor_id="D-OTHER")
    rows = [
        UpgradeRow.of("1000", "free", "shop0"),
        UpgradeRow.of("1001", "free", "shop0"),  # the alias of the row before
        UpgradeRow.of("2000", "free", "shop9"),  # another distributor's reseller
        UpgradeRow.of("1002", "standard", None),  # no alias from Basic
        UpgradeRow.of("1003", "standard", "shop3"),
    ]
    BulkUpgrade(world.plans, world.disti).run([UpgradeRow.of("1004", "standard", "shop4")])
    rows.append(UpgradeRow.of("1004", "free", "shop4x"))  # on Standard already: not an upgrade
    for _ in range(2):  # before the real run, and after it (then done rows are skipped)
        dry = BulkUpgrade(world.plans, world.disti, dry_run=True).run(rows)
        real = BulkUpgrade(world.plans, world.disti).run(rows)
        predicted = [r.outcome.value.replace("checked", "done") for r in dry.results]
        assert predicted == [r.outcome.value for r in real.results]
    assert [r.outcome.value for r in real.results] == [
        "skipped", "ineligible", "ineligible", "ineligible", "skipped", "ineligible",
    ]  # fmt: skip
