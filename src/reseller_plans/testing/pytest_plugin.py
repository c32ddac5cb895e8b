"""A pytest plugin: the ``sandbox`` and ``simulator`` fixtures for a host application's tests.

Installed with the package's ``pytest11`` entry point, it loads by itself. Where the entry point
is not installed, enable it in a ``conftest.py`` with
``pytest_plugins = ["reseller_plans.testing.pytest_plugin"]`` or on the command line with
``-p reseller_plans.testing.pytest_plugin``.

- ``sandbox``: a fresh ``Sandbox`` per test, with an eligible distributor already in its BSS
  (``sandbox.bss.distributors``); seeded from the ``--reseller-plans-seed`` option (0).
- ``simulator``: a small ``Simulator`` (200 resellers over 3 months, faults and crashes on),
  seeded the same way; call ``.run()``.

Both can be reconfigured per test with the ``reseller_plans`` marker:
``@pytest.mark.reseller_plans(seed=3, start=datetime(...), resellers=50, months=2)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from reseller_plans.testing.sandbox import DEFAULT_START, Sandbox
from reseller_plans.testing.simulator import Simulator

__all__ = ["sandbox", "simulator"]

_SIMULATOR_DEFAULTS: dict[str, Any] = {"resellers": 200, "months": 3}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reseller_plans", "reseller-plans sandbox")
    group.addoption(
        "--reseller-plans-seed",
        type=int,
        default=0,
        help="seed of the sandbox and simulator fixtures (default 0)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "reseller_plans(seed=, start=, **simulator_options): configure the sandbox and "
        "simulator fixtures of reseller_plans",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {"seed": request.config.getoption("--reseller-plans-seed")}
    marker = request.node.get_closest_marker("reseller_plans")
    if marker is not None:
        options.update(marker.kwargs)
    return options


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A fresh in-memory world with one eligible distributor; see ``reseller_plans.testing``."""
    options = _options(request)
    world = Sandbox(options.get("seed", 0), options.get("start", DEFAULT_START))
    world.distributor()
    yield world
    world.store.close()


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Simulator:
    """A small seeded ``Simulator`` (200 resellers, 3 months); call ``.run()``."""
    options = {**_SIMULATOR_DEFAULTS, **_options(request)}
    start: dt.datetime = options.pop("start", DEFAULT_START)
    return Simulator(start=start, **options)
