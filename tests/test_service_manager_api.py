"""The public names of ``reseller_plans.service_manager``: pinned and documented, and the HTTP
server stack stays in the ``asgi`` module (the ``server`` extra)."""

from __future__ import annotations

import doctest
import importlib
import inspect
import json
import subprocess
import sys
import types

import pytest

from reseller_plans import service_manager
from reseller_plans.service_manager import ResultCode

PUBLIC_NAMES = [
    "ALIAS_ATTRIBUTE",
    "AccountReader",
    "AccountRecord",
    "DISTRIBUTOR_CODE",
    "InMemoryDirectory",
    "PLAN_ATTRIBUTE",
    "PLAN_CODE_PREFIX",
    "PlanCatalog",
    "PlanPrice",
    "PlanProduct",
    "PlatformCall",
    "PlatformDirectory",
    "PlatformTokenAccountReader",
    "Response",
    "ResultCode",
    "STOREFRONT_BASE_URL",
    "ServiceManager",
    "configured_bss_reader",
]
CLASSES = [name for name in PUBLIC_NAMES if inspect.isclass(getattr(service_manager, name))]


def test_public_names_are_exactly_the_pinned_ones() -> None:
    assert sorted(service_manager.__all__) == sorted(PUBLIC_NAMES)


@pytest.mark.parametrize("name", CLASSES)
def test_public_classes_and_their_methods_have_docstrings(name: str) -> None:
    cls = getattr(service_manager, name)
    assert (cls.__doc__ or "").strip(), name
    for member_name, member in vars(cls).items():
        if member_name.startswith("_"):
            continue
        function = member.__func__ if isinstance(member, classmethod | staticmethod) else member
        if isinstance(function, types.FunctionType | property):
            assert function.__doc__, f"{name}.{member_name}"


def test_result_codes_are_the_documented_ones() -> None:
    assert {code.name: code.value for code in ResultCode} == {
        "OK": 0,
        "NOT_SUPPORTED": -1,
        "EXISTS": 1,
        "REFUSED": 1000,
        "NOT_ELIGIBLE": 1001,
        "ALIAS_TAKEN": 1002,
        "INVALID_ALIAS": 1003,
        "ILLEGAL_STATE": 1004,
        "NOT_FOUND": 1005,
        "UNKNOWN_PRODUCT": 1006,
        "BAD_REQUEST": 1007,
        "BACKEND_UNAVAILABLE": 1008,
        "FORBIDDEN": 1009,
        "CONFLICT": 1010,
        "BACKEND_REFUSED": 1011,
        "PROVISIONING_FAILED": 1012,
        "INVALID_TEXT": 1013,
        "DUPLICATE_PROPERTY": 1014,
        "SUBSCRIPTION_BUSY": 1015,
    }


_PROBE = """
import json, sys
before = set(sys.modules)
import reseller_plans.service_manager
print(json.dumps(sorted({m.partition(".")[0] for m in set(sys.modules) - before})))
"""


def test_the_handler_loads_no_http_server_or_client() -> None:
    completed = subprocess.run(  # noqa: S603 - our interpreter, a fixed probe
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )

    loaded = set(json.loads(completed.stdout))
    assert loaded.isdisjoint({"starlette", "uvicorn", "httpx", "httpcore", "anyio"})


@pytest.mark.parametrize(
    "module_name",
    ["reseller_plans.service_manager", "reseller_plans.service_manager.routes"],
)
def test_examples_in_the_docstrings_run(module_name: str) -> None:
    module = importlib.import_module(module_name)

    result = doctest.testmod(module)

    assert result.failed == 0
    assert result.attempted > 0
