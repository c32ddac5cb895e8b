"""The command line's commands on one account or subscription, as a user runs them: the console
script in a subprocess against the emulator on loopback."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_world import SECRETS, Invoke, environment, invoker
from reseller_plans.stores.sqlite import SQLiteStore
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo(extra_resellers=30)) as running:
        yield running


@pytest.fixture
def run(server: EmulatorServer, tmp_path: Path) -> Invoke:
    return invoker(environment(server, tmp_path / "state.sqlite3"), tmp_path)


def test_check_lists_every_failure_and_exits_1_when_one_is_ineligible(run: Invoke) -> None:
    code, out, _ = run("check", "3542", "3545")
    assert code == 1
    assert "RESELLING_DISABLED" in out
    code, out, _ = run("--json", "check", "3542", "--alias", "techsolutions")
    assert code == 0
    assert json.loads(out)[0]["eligible"] is True


def test_check_goes_on_past_an_unknown_account(run: Invoke) -> None:
    code, out, _ = run("--json", "check", "3542", "99999", "3545")
    assert code == 1
    reports = json.loads(out)
    assert [r["account"] for r in reports] == ["3542", "99999", "3545"]
    assert reports[0]["eligible"] is True
    assert reports[1]["found"] is False
    assert reports[2]["failures"][0] == {
        "code": "RESELLING_DISABLED",
        "message": "account 3545 is not marked as a reseller",
        "remedy": "tick Enable Reselling on the account",
    }


def test_one_upgrade_then_the_subscription_commands(run: Invoke, server: EmulatorServer) -> None:
    code, out, err = run(
        "--json", "upgrade", "3542", "--plan", "standard", "--alias", "techsolutions"
    )
    assert code == 0, err
    (row,) = json.loads(out)["rows"]
    assert row["outcome"] == "done"
    sub = row["subscription"]
    assert "Your Standard reseller plan" in err  # the console mailer prints to stderr

    code, out, _ = run("--json", "status", "3542")
    assert json.loads(out)["status"] == "active"
    assert run("--json", "suspend", sub, "--reason", "non-payment")[0] == 0
    code, out, _ = run("--json", "resume", sub)
    assert json.loads(out)["status"] == "active"
    code, out, _ = run("--json", "change-plan", sub, "--plan", "free")
    assert json.loads(out)["pending_change"]["plan"] == "free"
    code, out, _ = run("status", sub)
    assert "plan change to Free on 20" in out  # a sentence, not a Python dict
    assert "{" not in out
    assert run("withdraw", sub)[0] == 0
    code, out, _ = run("--json", "cancel", sub)
    assert json.loads(out)["status"] == "cancelled"
    code, out, _ = run("history", sub)
    assert "Activated" in out
    assert "RevertedToBasic" in out
    code, out, _ = run("--json", "run-due")
    assert code == 0
    assert "subscriptions" in json.loads(out)
    code, out, _ = run("--json", "status", "3542")
    assert (code, json.loads(out)) == (
        0,
        {"account": "3542", "plan": "basic", "subscription": None},
    )
    assert server.state.account("3542").get("resellerPlan") == "Basic"


def test_status_of_an_unknown_target_says_not_found_and_exits_1(run: Invoke) -> None:
    code, out, err = run("status", "sub_nope")
    assert code == 1
    assert "not found" in err
    assert "Basic" not in out + err
    code, out, _ = run("status", "3543")  # on Free in the BSS, no subscription here
    assert (code, out.strip()) == (0, "account 3543: Free (no subscription here)")


def test_errors_in_json_mode_are_json(run: Invoke) -> None:
    code, out, _ = run("--json", "status", "sub_nope")
    assert code == 1
    assert "not found" in json.loads(out)["error"]["message"]
    code, out, _ = run("--json", "change-plan", "sub_x", "--plan", "free", "--now", "--at-term-end")
    assert code == 2
    assert json.loads(out)["error"]["exit_status"] == 2
    code, out, _ = run("--json", "check", "3542", extra={"RESELLER_PLANS_CLIENT_SECRET": ""})
    assert code == 2
    assert "RESELLER_PLANS_CLIENT_SECRET" in json.loads(out)["error"]["message"]


def test_contradictory_flags_are_refused(run: Invoke) -> None:
    for args in (
        ("change-plan", "sub_x", "--plan", "free", "--now", "--at-term-end"),
        ("cancel", "sub_x", "--now", "--at-term-end"),
        ("upgrade", "--from-csv", "x.csv", "3542"),
        ("upgrade", "3542", "--plan", "free", "--alias", "abc", "--strict"),
        ("--json", "upgrade", "3542", "--plan", "free", "--alias", "abc", "--csv"),
        ("check", "3542", "3543", "--alias", "abc"),
    ):
        code, _, _ = run(*args)
        assert code == 2, args


def test_messages_name_commands_not_python_methods(run: Invoke) -> None:
    code, out, err = run("--json", "upgrade", "3542", "--plan", "free", "--alias", "techsolutions")
    sub = json.loads(out)["rows"][0]["subscription"]
    code, out, err = run("cancel", sub)
    code, _, err = run("change-plan", sub, "--plan", "standard")
    assert code == 1
    assert "change_plan" not in err
    assert "change-plan" in err  # "cannot change-plan a subscription that is cancelled"


def test_every_flag_an_error_names_exists(run: Invoke, tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("account,plan,alias\n3542,free,abc\n")
    cases = [
        (("serve",), {}),
        (("check", "3542"), {"RESELLER_PLANS_DISTRIBUTOR": ""}),
        (("check", "3542"), {"RESELLER_PLANS_BSS_URL": ""}),
        (("upgrade",), {}),
        (("upgrade", "3542"), {}),
        (("upgrade", "--from-csv", "rows.csv", "--plan", "free"), {}),
        (("check", "3542", "3543", "--alias", "abc"), {}),
        (("change-plan", "s", "--plan", "free", "--now", "--at-term-end"), {}),
    ]
    _, top_help, _ = run("--help")
    for args, extra in cases:
        code, _, err = run(*args, extra=extra)
        assert code == 2, (args, err)
        _, command_help, _ = run(args[0], "--help")
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", err):
            assert flag in top_help or flag in command_help, (args, flag, err)


def test_verbose_shows_the_librarys_log(run: Invoke) -> None:
    _, _, quiet = run("check", "3542")
    _, _, loud = run("-vv", "check", "3542")
    assert "DEBUG reseller_plans" not in quiet
    assert "DEBUG reseller_plans" in loud
    assert "demo-password" not in loud  # the log is redacted


def test_a_missing_secret_is_a_configuration_error(run: Invoke) -> None:
    code, _, err = run("check", "3542", extra={"RESELLER_PLANS_CLIENT_SECRET": ""})
    assert code == 2
    assert "RESELLER_PLANS_CLIENT_SECRET" in err
    assert "demo-password" not in err


def test_an_unreachable_bss_is_reported_clearly(run: Invoke) -> None:
    code, _, err = run("check", "3542", extra={"RESELLER_PLANS_BSS_URL": "http://127.0.0.1:9"})
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in err


def test_usage_errors_exit_2(run: Invoke) -> None:
    assert run("upgrade")[0] == 2
    assert run("upgrade", "3542")[0] == 2
    assert run("--help")[0] == 0


def test_settings_come_from_a_toml_file(run: Invoke, tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(f'[bss]\nclient_secret = "{SECRETS["RESELLER_PLANS_CLIENT_SECRET"]}"\n')
    no_secret = {"RESELLER_PLANS_CLIENT_SECRET": ""}
    assert run("--config", str(config), "check", "3542", extra=no_secret)[0] == 0
    config.write_text("[bss]\nnope = 1\n")
    code, _, err = run("--config", str(config), "check", "3542", extra=no_secret)
    assert code == 2
    assert "unknown setting" in err


def test_a_command_on_a_busy_subscription_exits_75_and_changes_nothing(
    run: Invoke, tmp_path: Path
) -> None:
    code, out, _ = run("--json", "upgrade", "3542", "--plan", "free", "--alias", "busyshop")
    assert code == 0
    sub = json.loads(out)["rows"][0]["subscription"]
    store = SQLiteStore(tmp_path / "state.sqlite3")
    now = dt.datetime.now(dt.UTC)
    with store.unit_of_work() as uow:  # a worker in another process is driving it
        assert uow.take_lease(sub, "a-worker", now=now, until=now + dt.timedelta(minutes=5))
    store.close()

    code, out, _ = run(
        "--json", "suspend", sub, "--reason", "non-payment",
        extra={"RESELLER_PLANS_BUSY_TIMEOUT_SECONDS": "0.2"},
    )  # fmt: skip

    assert code == 75
    assert "busy" in json.loads(out)["error"]["message"]
    code, out, _ = run("--json", "status", sub)
    assert json.loads(out)["status"] == "active"


def test_run_due_reports_failures_and_repairs_readably_and_as_json() -> None:
    from reseller_plans import DueFailure, DueReport, Repaired  # noqa: PLC0415
    from reseller_plans.cli.render import due_report_dict, due_summary  # noqa: PLC0415
    from reseller_plans.domain.subscription import StepAction  # noqa: PLC0415

    at = dt.datetime(2026, 1, 15, 9, 5, tzinfo=dt.UTC)
    report = DueReport(
        subscriptions=2,
        failures=(DueFailure("sub_1", "KeyError: 'x'", at),),
        reconciled=1,
        repaired=(Repaired("sub_2", "3542", (StepAction.DEACTIVATE_STOREFRONT,)),),
    )
    data = due_report_dict(report)
    assert json.loads(json.dumps(data)) == data  # plain JSON values (a datetime would not be)
    assert data["repaired"] == [
        {"subscription": "sub_2", "account": "3542", "repairs": ["deactivate_storefront"]}
    ]
    lines = due_summary(data).splitlines()
    assert lines[0].startswith("subscriptions: 2, renewals: 0")
    assert "reconciled: 1" in lines[0]
    assert lines[1] == "failed: sub_1: KeyError: 'x' (again after 2026-01-15T09:05:00+00:00)"
    assert lines[2] == "repaired: account 3542 (sub_2): deactivate_storefront"


def test_history_shows_who_caused_each_event_and_why(run: Invoke) -> None:
    code, out, err = run(
        "--json", "upgrade", "3542", "--plan", "standard", "--alias", "techsolutions",
        "--key", "order-77",
    )  # fmt: skip
    assert code == 0, err
    sub = json.loads(out)["rows"][0]["subscription"]
    assert run("cancel", sub, "--reason", "the reseller left")[0] == 0
    code, out, _ = run("--json", "history", sub)
    events = json.loads(out)
    audits = {e["type"]: e["audit"] for e in events}
    assert audits["Activated"]["actor"].startswith("distributor:")
    assert audits["Activated"]["idempotency_key"] == "order-77"
    assert audits["Cancelled"]["reason"] == "the reseller left"
    assert audits["Cancelled"]["correlation_id"].startswith("cor_")
    assert audits["Cancelled"]["correlation_id"] != audits["Activated"]["correlation_id"]
    code, out, _ = run("history", sub)
    assert code == 0
    assert "why the reseller left" in re.sub(r"\s+", " ", out)
    assert "key order-77" in re.sub(r"\s+", " ", out)
    assert "distributor:" in out
