"""The public names of ``reseller_plans.testing``: pinned, importable and documented."""

from __future__ import annotations

import inspect
import types

import pytest

import reseller_plans.testing

PUBLIC_NAMES = [
    "FakeBSS",
    "FakeClock",
    "FakeStorefront",
    "Faults",
    "InMemoryMailer",
    "InMemoryStore",
    "InvariantViolation",
    "Sandbox",
    "SandboxStore",
    "SimulatedCrash",
    "SimulationReport",
    "Simulator",
    "sample_distributor",
]

# The names this package adds; their public methods and properties must say what they do.
OWN_CLASSES = ["Sandbox", "InvariantViolation", "Simulator", "SimulationReport", "SandboxStore"]


def test_public_names_are_exactly_the_pinned_ones() -> None:
    assert sorted(reseller_plans.testing.__all__) == PUBLIC_NAMES


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from reseller_plans.testing import *", namespace)  # noqa: S102 - a fixed statement

    assert set(PUBLIC_NAMES) <= set(namespace)


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_object_has_its_own_docstring(name: str) -> None:
    assert (getattr(reseller_plans.testing, name).__doc__ or "").strip(), name


@pytest.mark.parametrize("name", OWN_CLASSES)
def test_public_methods_and_properties_have_docstrings(name: str) -> None:
    cls = getattr(reseller_plans.testing, name)
    missing = [
        member_name
        for member_name, member in vars(cls).items()
        if not member_name.startswith("_")
        and isinstance(member, types.FunctionType | property)
        and not inspect.getdoc(member)
    ]
    assert missing == []


def test_the_module_docstring_points_to_the_docs() -> None:
    assert "docs/testing.md" in (reseller_plans.testing.__doc__ or "")
