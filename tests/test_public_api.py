"""The public names of ``reseller_plans``: pinned, importable and documented.

When the API grows, this list grows with it, in the same commit as the CHANGELOG line.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import types

import pytest

import reseller_plans

PUBLIC_NAMES = [
    "Actor",
    "AliasTaken",
    "Audit",
    "BackendError",
    "BillingCycle",
    "ChangePending",
    "Channel",
    "ConcurrentUpdate",
    "DistributorProfile",
    "DueFailure",
    "DueReport",
    "Edition",
    "EligibilityFailure",
    "EligibilityReport",
    "Event",
    "EventPage",
    "FailureCode",
    "FeedEvent",
    "Forbidden",
    "IdempotencyConflict",
    "IllegalTransition",
    "InMemoryStore",
    "InvalidAlias",
    "InvalidInput",
    "LeaseSettings",
    "MessageKind",
    "MessageStatus",
    "Move",
    "NotEligible",
    "NotFound",
    "PendingChange",
    "PermanentBackendError",
    "Plan",
    "Preview",
    "Repaired",
    "ResellerAccount",
    "ResellerPlans",
    "ResellerPlansError",
    "SQLiteStore",
    "ServiceManagerState",
    "StorefrontAlias",
    "Subscription",
    "SubscriptionBusy",
    "SubscriptionStatus",
    "SyncStatus",
    "Term",
    "Timing",
    "TransientBackendError",
    "__version__",
    "check_eligibility",
    "correlate",
    "current_correlation_id",
    "plan_move",
]

DOCUMENTED_NAMES = [name for name in PUBLIC_NAMES if name != "__version__"]


def test_public_names_are_exactly_the_pinned_ones() -> None:
    assert sorted(reseller_plans.__all__) == PUBLIC_NAMES


def test_public_names_are_listed_once() -> None:
    assert len(set(reseller_plans.__all__)) == len(reseller_plans.__all__)


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from reseller_plans import *", namespace)  # noqa: S102 - a fixed, trusted statement

    assert set(PUBLIC_NAMES) <= set(namespace)


@pytest.mark.parametrize("name", DOCUMENTED_NAMES)
def test_public_object_has_its_own_docstring(name: str) -> None:
    obj = getattr(reseller_plans, name)

    # Its own __doc__, not one inherited from enum.Enum or Exception.
    assert (obj.__doc__ or "").strip(), name


def _public_members_without_docstring() -> list[str]:
    missing = []
    for name in DOCUMENTED_NAMES:
        obj = getattr(reseller_plans, name)
        if not inspect.isclass(obj):
            continue
        for member_name, member in vars(obj).items():
            if member_name.startswith("_"):
                continue
            function = member.__func__ if isinstance(member, classmethod | staticmethod) else member
            if isinstance(function, types.FunctionType | property) and not function.__doc__:
                missing.append(f"{name}.{member_name}")
    return sorted(missing)


def test_public_methods_and_properties_have_docstrings() -> None:
    assert _public_members_without_docstring() == []


def test_version_is_the_installed_distributions_version() -> None:
    assert reseller_plans.__version__ == importlib.metadata.version("reseller-plans")


def test_public_objects_say_they_live_in_the_package() -> None:
    for name in DOCUMENTED_NAMES:
        module = getattr(reseller_plans, name).__module__
        assert module.startswith("reseller_plans."), (name, module)
