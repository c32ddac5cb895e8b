"""The public names of ``reseller_plans.webhooks``: pinned, importable, documented, and only
loaded by those who ask for them."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import reseller_plans.webhooks
from reseller_plans.webhooks import render_envelope

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_NAMES = [
    "AttemptOutcome",
    "AttemptResult",
    "DEFAULT_BACKOFF",
    "DEFAULT_CLAIM",
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUTS",
    "DEFAULT_TOLERANCE",
    "DeadReason",
    "Deliverable",
    "DeliveryRecord",
    "DeliverySettings",
    "DeliveryState",
    "ENVELOPE_VERSION",
    "Endpoint",
    "Ordering",
    "RetiredSecret",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "USER_AGENT",
    "VerificationFailure",
    "WEBHOOK_ID_HEADER",
    "WebhookRequest",
    "WebhookSecret",
    "WebhookNotifier",
    "WebhookSender",
    "WebhookTally",
    "WebhookVerificationError",
    "build_request",
    "check_event_type",
    "envelope_of",
    "next_due",
    "read_response",
    "record_attempt",
    "redrive",
    "render_envelope",
    "retry_delay",
    "sendable",
    "signature_headers",
    "skip",
    "verify",
]
OBJECTS = [
    name
    for name in PUBLIC_NAMES
    if inspect.isclass(getattr(reseller_plans.webhooks, name))
    or inspect.isfunction(getattr(reseller_plans.webhooks, name))
]


def test_public_names_are_exactly_the_pinned_ones() -> None:
    assert sorted(reseller_plans.webhooks.__all__) == sorted(PUBLIC_NAMES)
    assert len(set(reseller_plans.webhooks.__all__)) == len(reseller_plans.webhooks.__all__)


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from reseller_plans.webhooks import *", namespace)  # noqa: S102 - a fixed statement

    assert set(PUBLIC_NAMES) <= set(namespace)


@pytest.mark.parametrize("name", OBJECTS)
def test_public_object_has_its_own_docstring_and_says_it_lives_in_the_package(name: str) -> None:
    obj = getattr(reseller_plans.webhooks, name)

    assert (obj.__doc__ or "").strip(), name
    assert obj.__module__.startswith("reseller_plans."), obj.__module__


def test_public_methods_and_properties_have_docstrings() -> None:
    missing = []
    for name in OBJECTS:
        obj = getattr(reseller_plans.webhooks, name)
        if not inspect.isclass(obj):
            continue
        for member_name, member in vars(obj).items():
            if member_name.startswith("_"):
                continue
            function = member.__func__ if isinstance(member, classmethod | staticmethod) else member
            if isinstance(function, types.FunctionType | property) and not function.__doc__:
                missing.append(f"{name}.{member_name}")
    assert missing == []


def test_every_module_of_the_package_names_its_public_names() -> None:
    package = Path(reseller_plans.webhooks.__file__).parent
    for path in sorted(package.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "__all__ = [" in text, path.name
        assert len(text.splitlines()) <= 400, path.name  # one idea per module


def test_the_guides_envelope_is_what_render_envelope_writes() -> None:
    guide = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    [shown] = re.findall(r'^```text\n(\{"data".*)\n```$', guide, re.MULTILINE)

    rendered = render_envelope(
        "evt_0001", "subscription.activated", dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC),
        {"subscription_id": "sub_1", "account_id": "3542", "plan": "standard"},
    )  # fmt: skip

    assert shown.encode() == rendered
    assert json.loads(shown)["version"] == 1


# Prints the top-level names of every module a fresh interpreter loaded to import the module.
_PROBE = """
import json, sys
before = set(sys.modules)
import {module}
print(json.dumps(sorted({{m.partition(".")[0] for m in set(sys.modules) - before}})))
"""


@pytest.mark.parametrize(
    "module",
    ["reseller_plans", "reseller_plans.domain.deliveries", "reseller_plans.domain.delivery_order"],
)
def test_the_package_and_the_delivery_rules_load_no_webhook_or_http_library(module: str) -> None:
    completed = subprocess.run(  # noqa: S603 - our interpreter, a fixed probe
        [sys.executable, "-c", _PROBE.format(module=module)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip

    loaded = set(json.loads(completed.stdout))
    assert loaded.isdisjoint({"standardwebhooks", "httpx", "httpcore"})
