"""``Simulator``: seeded lifecycles at scale, replayable, with faults and crashes, and no
invariant violations."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from reseller_plans import IllegalTransition, InvalidInput, Plan
from reseller_plans.service import DueReport
from reseller_plans.testing import Sandbox, SimulationReport, Simulator
from reseller_plans.testing.simulate import main
from reseller_plans.testing.simulator import _PlainTemplates


def small(seed: int, **options: object) -> SimulationReport:
    return Simulator(seed=seed, resellers=300, months=3, **options).run()  # type: ignore[arg-type]


def test_the_same_seed_replays_the_same_report() -> None:
    assert small(3) == small(3)


def test_the_same_seed_replays_in_another_process_with_other_string_hashes() -> None:
    script = (
        "from reseller_plans.testing import Simulator;"
        "print(Simulator(seed=3, resellers=300, months=3).run())"
    )
    outputs = {
        subprocess.run(  # noqa: S603 - our interpreter, a fixed script
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }

    assert outputs == {str(small(3)) + "\n"}


def test_two_workers_run_two_worlds_side_by_side_and_replay_too() -> None:
    parallel = small(3, workers=2)

    assert parallel == small(3, workers=2)
    assert parallel != small(3)
    assert parallel.resellers == 300
    assert parallel.distributors == 2 * (1 + 4)  # one eligible and four ineligible in each world
    assert all(sum(month.values()) == 300 for month in parallel.plans_by_month)
    assert sum(parallel.outcomes.values()) == parallel.steps


def test_another_seed_gives_another_report() -> None:
    assert small(3) != small(4)


def test_a_small_simulation_exercises_every_kind_of_command() -> None:
    report = small(11, activity=0.03, fault_rate=0.1, crash_rate=0.02)

    commands = {key.partition(".")[0] for key in report.outcomes}
    assert {
        "upgrade",
        "upgrade_to_standard",
        "change_to_free",
        "change_to_free_now",
        "cancel_now",
        "cancel_at_term_end",
        "suspend",
        "resume",
        "withdraw",
        "retry",
    } <= commands
    results = {key.partition(".")[2] for key in report.outcomes}
    assert {"ok", "NotEligible", "AliasTaken", "rolled_back", "crashed"} <= results
    assert set(report.faults_injected) == {"transient", "permanent", "latency", "crash"}
    assert report.restarts > 0
    assert report.violations == ()


def test_the_world_of_the_last_run_can_be_looked_at() -> None:
    simulator = Simulator(seed=4, resellers=100, months=2)

    report = simulator.run()

    assert simulator.world is not None
    assert len(simulator.world.bss.accounts) == 100
    assert len(simulator.world.store.subscriptions()) == report.subscriptions
    simulator.world.check_invariants()


def test_report_reads_as_text() -> None:
    report = small(2)

    text = str(report)

    assert text.startswith("Simulation (seed 2): 300 resellers of 5 distributors over 3 months")
    for heading in ("Outcomes of commands:", "Events:", "Emails sent:", "Faults injected:"):
        assert heading in text
    assert "  month  3: " in text
    assert text.endswith("Invariant violations: none")
    assert len(report.plans_by_month) == 3
    assert all(sum(month.values()) == 300 for month in report.plans_by_month)


def test_without_faults_nothing_is_injected_and_nothing_rolls_back() -> None:
    report = small(5, faults=False, crashes=False)

    assert report.faults_injected == {}
    assert report.restarts == 0
    assert not [key for key in report.outcomes if key.endswith(("rolled_back", "crashed"))]
    assert report.ok


def test_a_broken_backend_shows_up_as_violations() -> None:
    def forgetful_bss(seed: int, start: dt.datetime) -> Sandbox:
        sandbox = Sandbox(seed, start, templates=_PlainTemplates(), keep_messages=False)
        sandbox.bss.revoke_license = lambda *args, **kwargs: None  # type: ignore[method-assign]
        return sandbox

    report = Simulator(seed=1, resellers=200, months=3, sandbox=forgetful_bss).run()

    assert not report.ok
    assert any("is on Basic but holds a" in v for v in report.violations)
    assert "INVARIANT VIOLATIONS:" in str(report)


def test_a_scheduler_that_raises_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    advance_to = Sandbox.advance_to

    def flaky(self: Sandbox, when: dt.datetime) -> DueReport:
        nonlocal calls
        calls += 1
        if calls == 50:
            raise IllegalTransition("active", "renew", "a bug in the scheduler")
        return advance_to(self, when)

    monkeypatch.setattr(Sandbox, "advance_to", flaky)

    report = small(1)

    assert report.outcomes["due_work.IllegalTransition"] == 1
    assert [v for v in report.violations if "run_due raised IllegalTransition" in v]
    assert len(report.plans_by_month) == 3  # and it went on to the end


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(InvalidInput):
        Simulator(resellers=0)
    with pytest.raises(InvalidInput):
        Simulator(workers=0)


def test_ten_thousand_resellers_over_twelve_months_with_faults_and_crashes_break_nothing() -> None:
    report = Simulator(seed=7, resellers=10_000, months=12).run()

    assert report.violations == ()
    assert report.faults_injected["crash"] > 0
    assert report.faults_injected["permanent"] > 0
    assert report.restarts > 0
    assert report.subscriptions > 9_000
    final = report.plans_by_month[-1]
    assert final[Plan.FREE.value] > 0
    assert final[Plan.STANDARD.value] > 0


def test_the_command_line_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--resellers", "150", "--months", "2", "--seed", "9", "--workers", "2"])

    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith("Simulation (seed 9): 150 resellers")
    assert "Invariant violations: none" in out
    assert "Simulated in " in out
