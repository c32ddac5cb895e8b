"""The layering rules of DESIGN.md: the domain is pure, and the HTTP stack stays in the adapters."""

from __future__ import annotations

import ast
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

import reseller_plans.domain
from reseller_plans.ports import Clock, SystemClock

# Prints the top-level names of every module a fresh interpreter loaded to import the module.
_PROBE = """
import json, sys
before = set(sys.modules)
import {module}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _modules_loaded_by_importing(module: str) -> list[str]:
    completed = subprocess.run(  # noqa: S603 - our interpreter, a fixed probe
        [sys.executable, "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(completed.stdout)  # type: ignore[no-any-return]


def _third_party(modules: list[str]) -> set[str]:
    top_levels = {name.partition(".")[0] for name in modules}
    return top_levels - set(sys.stdlib_module_names) - {"reseller_plans"}


def test_domain_imports_nothing_but_the_standard_library_and_attrs() -> None:
    # Read the imports of every domain module from its source: importing the package would
    # also run ``reseller_plans/__init__``, which wires the service on purpose.
    domain = Path(reseller_plans.domain.__file__).parent
    outside: list[str] = []
    for path in sorted(domain.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                allowed = (
                    top in sys.stdlib_module_names
                    or top in {"attr", "attrs"}
                    or name.startswith("reseller_plans.domain")
                )
                if not allowed:
                    outside.append(f"{path.name}: {name}")
    assert outside == []


@pytest.mark.parametrize("module", ["reseller_plans", "reseller_plans.ports"])
def test_importing_the_package_or_its_ports_does_not_load_the_http_stack(module: str) -> None:
    assert _third_party(_modules_loaded_by_importing(module)).isdisjoint(
        {"httpx", "httpcore", "tenacity"}
    )


def test_system_clock_is_a_clock_that_tells_aware_utc_time() -> None:
    clock = SystemClock()

    now = clock.now()

    assert isinstance(clock, Clock)
    assert now.tzinfo is dt.UTC
    assert repr(clock) == "SystemClock()"


def _imports_of(path: Path) -> list[str]:
    """Every module ``path`` imports (absolute names), at any depth of its code."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


_PACKAGE = Path(reseller_plans.domain.__file__).parent.parent
_STORES = ("memory", "sqlite", "postgres")
"""The store implementations. ``stores.sql``, ``stores.sql_store`` (the SQL base) and
``stores.codec`` are shared parts, not stores."""


@pytest.mark.parametrize("module", [*_STORES, "sql", "sql_store", "codec", "coordination"])
def test_no_store_imports_another_stores_module(module: str) -> None:
    # The shared SQL base may not lean on a store either: SQLite would then load the other.
    others = {f"reseller_plans.stores.{name}" for name in _STORES if name != module}
    imported = set(_imports_of(_PACKAGE / "stores" / f"{module}.py"))
    assert imported.isdisjoint(others)


def test_nothing_outside_testing_imports_testing_but_the_command_line() -> None:
    # The command line is the one exception: its ``emulator`` and ``simulate`` commands are the
    # test harness's own, offered to operators.
    outside = []
    for path in sorted(_PACKAGE.rglob("*.py")):
        relative = path.relative_to(_PACKAGE)
        if relative.parts[0] in {"testing", "cli", "cli.py"}:
            continue
        for name in _imports_of(path):
            if name == "reseller_plans.testing" or name.startswith("reseller_plans.testing."):
                outside.append(f"{relative}: {name}")
    assert outside == []


def test_the_stores_and_the_service_take_due_ness_from_the_domain() -> None:
    for path in [*sorted((_PACKAGE / "stores").glob("*.py")), *(_PACKAGE / "service").glob("*.py")]:
        assert "reseller_plans.stores.memory" not in _imports_of(path) or path.stem == "memory", (
            path
        )


def test_only_the_saga_driver_calls_a_port_from_the_service() -> None:
    # Every other module of the service decides or reads; the driver is the one that runs a
    # saga step through a port (``getattr(port, call.operation)``).
    callers = [
        path.name
        for path in sorted((_PACKAGE / "service").glob("*.py"))
        if "call.operation" in path.read_text()
    ]
    assert callers == ["driver.py"]


def test_no_store_imports_another_store_nor_the_testing_package() -> None:
    # The SQL stores share ``stores.sql`` (with ``sql_base``, ``sql_queries`` and
    # ``sql_deliveries``), ``stores.sql_store`` (their base), ``stores.schema``, ``stores.codec``
    # and ``stores.delivery_codec``; the in-memory store keeps its webhook deliveries in
    # ``stores.memory_deliveries``; a store's own module (memory, sqlite, postgres) is imported
    # by no other.
    stores = Path(reseller_plans.domain.__file__).parent.parent / "stores"
    names = ("sql", "sql_base", "sql_queries", "sql_store", "schema", "codec", "coordination")
    names += ("memory_deliveries", "sql_deliveries", "delivery_codec")
    shared = {f"reseller_plans.stores.{name}" for name in names}
    found = [
        f"{path.name}: {name}"
        for path in sorted(stores.glob("*.py"))
        for name in _imports_of(path)
        if name.startswith("reseller_plans.testing")
        or (name.startswith("reseller_plans.stores.") and name not in shared)
    ]
    assert found == []
