"""Domain events: named after their class and stored as plain dicts that read back equal."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import pytest

from reseller_plans.domain import events
from reseller_plans.domain.audit import Audit
from reseller_plans.domain.plans import Plan

AT = dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC)
AUDIT = Audit("distributor:100", "req-1", "key-1", "asked by phone")
_SAMPLES: dict[type, object] = {
    dt.datetime: AT, Plan: Plan.STANDARD, bool: True, str: "x", Audit: AUDIT,
}  # fmt: skip
_BY_NAME = {
    "dt.datetime": dt.datetime, "Plan": Plan, "bool": bool, "str": str, "Audit | None": Audit,
}  # fmt: skip


def _sample(cls: type[events.Event]) -> events.Event:
    """An instance of ``cls`` with a value of the right type in every field."""
    values = {}
    for field in attrs.fields(cls):
        kind = _BY_NAME.get(field.type, field.type) if isinstance(field.type, str) else field.type
        values[field.name] = _SAMPLES[kind]
    return cls(**values)


@pytest.mark.parametrize("cls", list(events.EVENT_TYPES.values()), ids=list(events.EVENT_TYPES))
def test_every_event_survives_a_json_round_trip(cls: type[events.Event]) -> None:
    event = _sample(cls)
    stored = json.loads(json.dumps(events.event_to_dict(event)))
    assert stored["type"] == cls.__name__ == event.name
    back = events.event_from_dict(stored)
    assert back == event
    assert back.audit == AUDIT


def test_the_audit_is_an_envelope_equality_ignores() -> None:
    plain = events.Suspended("SUB-1", AT, "non-payment")
    audited = attrs.evolve(plain, audit=AUDIT)
    assert plain == audited
    assert hash(plain) == hash(audited)
    assert "audit" not in events.event_to_dict(plain)
    assert events.event_to_dict(audited)["audit"] == {
        "actor": "distributor:100",
        "correlation_id": "req-1",
        "idempotency_key": "key-1",
        "reason": "asked by phone",
    }
    assert events.event_from_dict(events.event_to_dict(plain)).audit is None


def test_every_event_class_is_registered_for_storage() -> None:
    defined = {
        name
        for name in events.__all__
        if isinstance(getattr(events, name), type)
        and issubclass(getattr(events, name), events.Event)
        and name != "Event"
    }
    assert defined == set(events.EVENT_TYPES)


def test_a_stored_event_keeps_times_as_iso_8601_and_plans_as_their_names() -> None:
    data = events.event_to_dict(events.PlanChanged("SUB-1", AT, Plan.STANDARD, Plan.FREE))
    assert data == {
        "type": "PlanChanged",
        "subscription_id": "SUB-1",
        "at": "2025-01-15T09:30:00+00:00",
        "old_plan": "standard",
        "new_plan": "free",
    }
