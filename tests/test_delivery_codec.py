"""A delivery's record survives the SQL stores' JSON codec exactly: every state, every dead
reason, every optional field set or None, its instants aware and read back in UTC."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reseller_plans.domain.deliveries import (
    AttemptOutcome,
    AttemptResult,
    DeadReason,
    DeliveryRecord,
    DeliveryState,
)
from reseller_plans.stores.delivery_codec import dumps_delivery, loads_delivery

T0 = dt.datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=dt.UTC)
EAST = dt.timezone(dt.timedelta(hours=5, minutes=30))

instants = st.datetimes(
    min_value=dt.datetime(1971, 1, 1),
    max_value=dt.datetime(2200, 1, 1),
    timezones=st.one_of(
        st.just(dt.UTC),
        st.builds(
            dt.timezone,
            st.timedeltas(min_value=-dt.timedelta(hours=23), max_value=dt.timedelta(hours=23)),
        ),
    ),
)
"""Aware instants, in UTC and at other offsets (to the microsecond)."""

ids = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=12).filter(
    str.strip
)
texts = st.text(max_size=20)
seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False)

results = st.builds(
    AttemptResult,
    outcome=st.sampled_from(AttemptOutcome),
    at=instants,
    status=st.none() | st.integers(min_value=100, max_value=599),
    error=st.none() | texts,
    duration=seconds,
    retry_after=st.none() | seconds,
)

records = st.builds(
    DeliveryRecord,
    endpoint_id=ids,
    event_id=ids,
    subscription_id=ids,
    sequence=st.integers(min_value=0, max_value=2**63 - 1),
    state=st.sampled_from(DeliveryState),
    attempts=st.integers(min_value=0, max_value=10_000),
    first_attempt_at=st.none() | instants,
    next_attempt_at=st.none() | instants,
    last_result=st.none() | results,
    dead_reason=st.none() | st.sampled_from(DeadReason),
    redrives=st.integers(min_value=0, max_value=100),
    redriven_by=st.none() | texts,
    redriven_at=st.none() | instants,
    skipped_by=st.none() | texts,
    skipped_at=st.none() | instants,
)


def _round_trip(record: DeliveryRecord) -> DeliveryRecord:
    return loads_delivery(
        dumps_delivery(record), endpoint_id=record.endpoint_id, event_id=record.event_id,
        subscription_id=record.subscription_id, sequence=record.sequence,
    )  # fmt: skip


def _instants(record: DeliveryRecord) -> list[dt.datetime]:
    found = [record.first_attempt_at, record.next_attempt_at, record.redriven_at,
             record.skipped_at, record.last_result and record.last_result.at]  # fmt: skip
    return [when for when in found if when is not None]


@given(records)
def test_every_record_survives_the_codec(record: DeliveryRecord) -> None:
    back = _round_trip(record)
    assert back == record
    assert all(when.utcoffset() == dt.timedelta(0) for when in _instants(back))


@pytest.mark.parametrize("state", list(DeliveryState))
@pytest.mark.parametrize("reason", [None, *DeadReason])
def test_each_state_and_dead_reason(state: DeliveryState, reason: DeadReason | None) -> None:
    record = DeliveryRecord("crm", "evt_1", "sub_1", 7, state=state, dead_reason=reason)
    assert _round_trip(record) == record


def test_a_record_with_everything_set_comes_back_in_utc() -> None:
    result = AttemptResult(AttemptOutcome.FAILED, T0.astimezone(EAST), status=503,
                           error="Service Unavailable: réessayez", duration=0.125,
                           retry_after=30.0)  # fmt: skip
    record = DeliveryRecord(
        "crm", "evt_1", "sub_1", 3, state=DeliveryState.DEAD, attempts=15,
        first_attempt_at=T0.astimezone(EAST), next_attempt_at=T0 + dt.timedelta(hours=1),
        last_result=result, dead_reason=DeadReason.ATTEMPTS, redrives=2,
        redriven_by="operator:ana", redriven_at=T0, skipped_by="operator:bo",
        skipped_at=T0.astimezone(EAST),
    )  # fmt: skip
    back = _round_trip(record)
    assert back == record
    assert back.first_attempt_at is not None
    assert back.first_attempt_at.tzinfo is dt.UTC
    assert back.last_result is not None
    assert back.last_result.at.isoformat() == "2026-03-01T12:30:15.250000+00:00"


def test_a_new_delivery_has_none_everywhere_and_the_column_leaves_out_what_names_it() -> None:
    record = DeliveryRecord("crm", "evt_1", "sub_1", 1)
    text = dumps_delivery(record)
    assert _round_trip(record) == record
    assert json.loads(text)["last_result"] is None
    assert not {"endpoint_id", "event_id", "subscription_id", "sequence"} & set(json.loads(text))
    assert text.isascii()


def test_identity_comes_from_the_row() -> None:
    record = DeliveryRecord("crm", "evt_1", "sub_1", 1, attempts=2)
    back = loads_delivery(dumps_delivery(record), endpoint_id="erp", event_id="evt_9",
                          subscription_id="sub_2", sequence=9)  # fmt: skip
    assert back == attrs.evolve(record, endpoint_id="erp", event_id="evt_9",
                                subscription_id="sub_2", sequence=9)  # fmt: skip
