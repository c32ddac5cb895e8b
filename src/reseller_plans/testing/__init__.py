"""reseller_plans.testing: a whole reseller-plans world in memory, for tests and simulations.

- ``Sandbox``: the fakes of every port, a ``FakeClock``, one ``Faults`` script and a
  ``ResellerPlans`` wired to them; builders, ``advance()`` that runs what falls due,
  ``check_invariants()`` (raises ``InvariantViolation``), ``restart()`` after a crash.
- ``Simulator``: thousands of seeded lifecycles over months with faults and crashes; returns a
  ``SimulationReport``. ``python -m reseller_plans.testing.simulate`` runs one.
- The pieces: ``FakeBSS``, ``FakeStorefront``, ``InMemoryMailer``, ``FakeClock``, ``Faults`` and
  ``SimulatedCrash``, ``InMemoryStore``, ``sample_distributor``.
- ``SandboxStore``: what a sandbox needs of its store (``Sandbox(store=...)``); the in-memory
  and SQL stores are ones.
- A pytest plugin with the ``sandbox`` and ``simulator`` fixtures:
  ``reseller_plans.testing.pytest_plugin``.

See ``docs/testing.md``.
"""

from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.fakes import (
    FakeBSS,
    FakeClock,
    FakeStorefront,
    InMemoryMailer,
    sample_distributor,
)
from reseller_plans.testing.faults import Faults, SimulatedCrash
from reseller_plans.testing.sandbox import InvariantViolation, Sandbox
from reseller_plans.testing.sandbox_store import SandboxStore
from reseller_plans.testing.simulator import SimulationReport, Simulator

__all__ = [
    # the world
    "Sandbox",
    "InvariantViolation",
    "SandboxStore",
    # simulations
    "Simulator",
    "SimulationReport",
    # the pieces
    "FakeClock",
    "FakeBSS",
    "FakeStorefront",
    "InMemoryMailer",
    "Faults",
    "SimulatedCrash",
    "InMemoryStore",
    "sample_distributor",
]
