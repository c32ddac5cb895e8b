"""The pytest plugin: a host application's tests get the ``sandbox`` and ``simulator`` fixtures."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PLUGIN = "reseller_plans.testing.pytest_plugin"

HOST_TESTS = """
import datetime as dt

import pytest

from reseller_plans import Plan
from reseller_plans.testing import Sandbox, Simulator


def test_sandbox_fixture_is_a_fresh_world_with_an_eligible_distributor(sandbox):
    assert isinstance(sandbox, Sandbox)
    assert list(sandbox.bss.distributors) == ["100"]
    reseller = sandbox.reseller(plan=Plan.STANDARD)
    sandbox.advance(months=1)
    assert sandbox.plan_of(reseller) is Plan.STANDARD
    sandbox.check_invariants()


def test_each_test_gets_its_own_sandbox(sandbox):
    assert sandbox.bss.accounts == {}


@pytest.mark.reseller_plans(seed=4, start=dt.datetime(2027, 5, 1, tzinfo=dt.UTC))
def test_the_marker_configures_the_sandbox(sandbox):
    assert sandbox.seed == 4
    assert sandbox.now() == dt.datetime(2027, 5, 1, tzinfo=dt.UTC)


def test_simulator_fixture_is_small_and_seeded(simulator, pytestconfig):
    assert isinstance(simulator, Simulator)
    assert (simulator.resellers, simulator.months) == (200, 3)
    assert simulator.seed == pytestconfig.getoption("--reseller-plans-seed")
    assert simulator.run().ok


@pytest.mark.reseller_plans(resellers=50, months=1, seed=9)
def test_the_marker_configures_the_simulator(simulator):
    assert (simulator.resellers, simulator.months, simulator.seed) == (50, 1, 9)
"""


@pytest.fixture
def host(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # Only the plugin named with -p: an installed entry point must not load it a second time.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_host=HOST_TESTS)
    return pytester


def test_plugin_gives_a_host_application_the_fixtures(host: pytest.Pytester) -> None:
    result = host.runpytest("-p", PLUGIN, "-p", "no:cacheprovider")

    result.assert_outcomes(passed=5)


def test_seed_option_seeds_the_fixtures(host: pytest.Pytester) -> None:
    result = host.runpytest(
        "-p", PLUGIN, "--reseller-plans-seed", "3", "-k", "simulator_fixture_is_small"
    )

    result.assert_outcomes(passed=1)


def test_plugin_documents_its_marker_and_option(host: pytest.Pytester) -> None:
    markers = host.runpytest("-p", PLUGIN, "--markers")
    options = host.runpytest("-p", PLUGIN, "--help")

    markers.stdout.fnmatch_lines(["*@pytest.mark.reseller_plans(seed=, start=, *"])
    options.stdout.fnmatch_lines(["*--reseller-plans-seed*"])


def test_without_the_plugin_there_are_no_fixtures(host: pytest.Pytester) -> None:
    result = host.runpytest("-k", "each_test_gets")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'sandbox' not found*"])


def test_the_host_application_example_in_the_docs_passes(host: pytest.Pytester) -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "testing.md").read_text()
    example = next(b for b in re.findall(r"```python\n(.*?)```", page, re.S) if "# test_" in b)
    host.makepyfile(test_onboarding=example)

    result = host.runpytest("-p", PLUGIN, "test_onboarding.py")

    result.assert_outcomes(passed=2)


def _entry_point() -> importlib.metadata.EntryPoint | None:
    points = importlib.metadata.entry_points(group="pytest11")
    return next((p for p in points if p.value == PLUGIN), None)


@pytest.mark.skipif(_entry_point() is None, reason="the pytest11 entry point is not installed")
def test_the_installed_entry_point_loads_the_plugin_by_itself(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    pytester.makepyfile(test_host=HOST_TESTS)

    result = pytester.runpytest_subprocess("-k", "each_test_gets")

    result.assert_outcomes(passed=1)
