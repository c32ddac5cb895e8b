"""``reseller-plans upgrade --from-csv`` as an operator runs it: the console script in a
subprocess against the emulator on loopback, from the dry run to the real run and a rerun."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_world import SCRIPT, Invoke, environment, invoker
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, Faults, serve_emulator


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo(extra_resellers=30)) as running:
        yield running


@pytest.fixture
def run(server: EmulatorServer, tmp_path: Path) -> Invoke:
    return invoker(environment(server, tmp_path / "state.sqlite3"), tmp_path)


def executed_orders(server: EmulatorServer) -> dict[str, int]:
    """Executed checkouts per account (idempotent replays not counted)."""
    counts: dict[str, int] = {}
    for order in server.state.orders.values():
        if str(order.get("status", "")).lower() != "draft":
            account = str(order.get("accountId"))
            counts[account] = counts.get(account, 0) + 1
    return counts


def outcomes(out: str) -> list[str]:
    return [r["outcome"] for r in json.loads(out)["rows"]]


def test_bulk_upgrade_reports_typed_values_and_exits_1_when_some_fail(
    run: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "rows.csv").write_text(
        "account,plan,alias\n"
        "3542,standard,techsolutions\n"
        "10001,free,reseller-one\n"
        "3545,free,northwind\n"
        "10002,free,techsolutions\n"
    )
    code, out, _ = run("--json", "upgrade", "--from-csv", "rows.csv", "--concurrency", "4")
    assert code == 1
    report = json.loads(out)
    assert report["counts"] == {
        "done": 2, "checked": 0, "skipped": 0, "ineligible": 2, "failed": 0, "invalid": 0,
    }  # fmt: skip
    rows = report["rows"]
    assert [r["line"] for r in rows] == [2, 3, 4, 5]  # numbers, in the file's order
    assert [r["outcome"] for r in rows] == ["done", "done", "ineligible", "ineligible"]
    assert rows[2]["codes"] == ["RESELLING_DISABLED"]
    assert rows[2]["failures"] == [
        {
            "code": "RESELLING_DISABLED",
            "message": "account 3545 is not marked as a reseller",
            "remedy": "tick Enable Reselling on the account",
        }
    ]
    assert rows[3]["codes"] == ["ALIAS_TAKEN"]  # the first row got it
    assert rows[3]["failures"][0]["remedy"] == "choose another alias"

    code, out, _ = run("upgrade", "--from-csv", "rows.csv", "--csv")
    report_rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["outcome"] for r in report_rows] == ["skipped", "skipped", "ineligible", "ineligible"]
    assert report_rows[3]["codes"] == "ALIAS_TAKEN"
    assert report_rows[3]["remedy"] == "choose another alias"
    assert out.startswith('"line","account","plan","alias","key","outcome"')  # every cell quoted


def test_the_dry_run_gives_each_row_the_real_runs_outcome(
    run: Invoke, server: EmulatorServer, tmp_path: Path
) -> None:
    # saved by Excel as "CSV UTF-8": a byte-order mark and CRLF line ends
    text = (
        "account,plan,alias\r\n"
        "10001,free,shared-alias\r\n"
        "10002,free,shared-alias\r\n"  # the alias of the row before
        "4100,free,other-disti\r\n"  # a reseller of another distributor
        "10003,gold,third\r\n"  # malformed: no such plan
        "10004,standard,fourth\r\n"
        "10005,standard,\r\n"  # no alias from Basic
    )
    (tmp_path / "rows.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    expected = ["done", "ineligible", "ineligible", "invalid", "done", "ineligible"]

    code, out, _ = run("--json", "upgrade", "--from-csv", "rows.csv", "--dry-run")
    assert code == 1
    assert [o.replace("checked", "done") for o in outcomes(out)] == expected
    assert server.state.orders == {}  # the dry run wrote nothing
    assert server.state.calls_to("PATCH /api/accounts/{account_id}") == 0

    code, out, _ = run("--json", "upgrade", "--from-csv", "rows.csv")
    assert (code, outcomes(out)) == (1, expected)

    # now 10004 is on Standard: a row moving it to Free is not an upgrade, in both runs
    (tmp_path / "rows.csv").write_text(
        "account,plan,alias\n10004,free,fourth\n10001,free,shared-alias\n"
    )
    dry = outcomes(run("--json", "upgrade", "--from-csv", "rows.csv", "--dry-run")[1])
    real = outcomes(run("--json", "upgrade", "--from-csv", "rows.csv")[1])
    assert dry == real == ["ineligible", "skipped"]


def test_one_bad_row_does_not_refuse_the_file_unless_strict(
    run: Invoke, server: EmulatorServer, tmp_path: Path
) -> None:
    (tmp_path / "rows.csv").write_text(
        "account,plan,alias\n10001,free,good-one\n10002,gold,bad-plan\n,free,no-account\n"
    )
    code, _, err = run("upgrade", "--from-csv", "rows.csv", "--strict")
    assert code == 2
    assert "line 3" in err
    assert "gold" in err
    assert "line 4" in err
    assert server.state.orders == {}
    code, out, _ = run("--json", "upgrade", "--from-csv", "rows.csv")
    assert code == 1
    rows = json.loads(out)["rows"]
    assert [(r["line"], r["outcome"]) for r in rows] == [
        (2, "done"),
        (3, "invalid"),
        (4, "invalid"),
    ]
    assert "gold" in rows[1]["error"]


def test_a_missing_column_is_an_input_error_naming_the_columns_found(
    run: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "rows.csv").write_bytes(b"\xef\xbb\xbfaccount,plan\r\n3542,free\r\n")
    code, _, err = run("upgrade", "--from-csv", "rows.csv")
    assert code == 2
    assert "needs the columns alias" in err
    assert "found: account, plan" in err


def test_a_csv_report_neutralises_formulas_and_reads_back_as_written(
    run: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "rows.csv").write_text(
        'account,plan,alias\n"=HYPERLINK(""x"")",free,evil-one\n@10001,free,evil-two\n'
    )
    _, out, _ = run("--json", "upgrade", "--from-csv", "rows.csv")
    accounts = [r["account"] for r in json.loads(out)["rows"]]
    assert accounts == ['=HYPERLINK("x")', "@10001"]  # JSON is exact

    _, out, _ = run("upgrade", "--from-csv", "rows.csv", "--csv")
    report = list(csv.reader(io.StringIO(out)))
    assert [row[1] for row in report[1:]] == ['\'=HYPERLINK("x")', "'@10001"]
    # the report fed back in as input means the same rows
    (tmp_path / "report.csv").write_text(out)
    _, out, _ = run("--json", "upgrade", "--from-csv", "report.csv", "--dry-run")
    assert [r["account"] for r in json.loads(out)["rows"]] == accounts


def test_the_progress_bar_counts_each_outcome_apart_with_rate_and_eta(
    run: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "rows.csv").write_text(
        "account,plan,alias\n10001,free,one-alias\n3545,free,northwind\n99999,free,nobody\n"
    )
    _, _, err = run("upgrade", "--from-csv", "rows.csv")
    assert "done 1  skipped 0  ineligible 1  failed 1" in err
    assert "rows/s" in err
    assert "eta" in err


def test_exit_status_0_when_every_row_is_done_or_skipped(run: Invoke, tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("account,plan,alias\n10001,free,one-alias\n")
    assert run("upgrade", "--from-csv", "rows.csv")[0] == 0
    code, out, _ = run("upgrade", "--from-csv", "rows.csv")
    assert code == 0
    assert "1 row: 1 skipped" in out


def bulk_process(server: EmulatorServer, tmp_path: Path, count: int) -> list[str]:
    (tmp_path / "rows.csv").write_text(
        "account,plan,alias\n" + "".join(f"{10001 + n},free,reseller{n}\n" for n in range(count))
    )
    return [SCRIPT, "--json", "upgrade", "--from-csv", str(tmp_path / "rows.csv"),
            "--concurrency", "2"]  # fmt: skip


def test_ctrl_c_exits_130_and_the_rerun_finishes(tmp_path: Path) -> None:
    with serve_emulator(EmulatorState.demo(extra_resellers=30), Faults(latency=0.02)) as server:
        command = bulk_process(server, tmp_path, 24)
        env = {**os.environ, **environment(server, tmp_path / "state.sqlite3")}
        first = subprocess.Popen(  # noqa: S603 - our own console script
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while sum(executed_orders(server).values()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGINT)
        out, _ = first.communicate(timeout=60)
        assert first.returncode == 130
        assert "run the same command again" in json.loads(out)["error"]["message"]
        second = subprocess.run(  # noqa: S603
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert second.returncode == 0, second.stderr
        assert set(executed_orders(server).values()) == {1}


def test_an_interrupted_bulk_run_finishes_when_run_again(tmp_path: Path) -> None:
    with serve_emulator(EmulatorState.demo(extra_resellers=30), Faults(latency=0.02)) as server:
        command = bulk_process(server, tmp_path, 24)
        env = {
            **os.environ,
            **environment(server, tmp_path / "state.sqlite3"),
            # The killed run's rows in flight keep their leases until these end: short ones,
            # and a rerun that waits for them, so that it takes them over and finishes.
            "RESELLER_PLANS_LEASE_SECONDS": "2",
            "RESELLER_PLANS_STEP_DEADLINE_SECONDS": "1",
            "RESELLER_PLANS_BUSY_TIMEOUT_SECONDS": "10",
        }
        first = subprocess.Popen(  # noqa: S603 - our own console script
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while sum(executed_orders(server).values()) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # the process dies mid-run
        first.communicate()
        done_before = sum(executed_orders(server).values())
        assert 4 <= done_before < 24

        second = subprocess.run(  # noqa: S603
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert second.returncode == 0, second.stderr
        found = outcomes(second.stdout)
        assert set(found) <= {"done", "skipped"}
        assert found.count("skipped") >= 1
        orders = executed_orders(server)
        assert len(orders) == 24
        assert set(orders.values()) == {1}  # no account ordered twice
