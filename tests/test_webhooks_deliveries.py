"""The delivery rules: backoff with jitter, the budget and the dead letter, redrive and skip, and
the order of each subscription's events per endpoint (hold back or skip ahead)."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reseller_plans.domain.deliveries import (
    DEFAULT_BACKOFF,
    AttemptOutcome,
    AttemptResult,
    DeadReason,
    DeliveryRecord,
    DeliverySettings,
    DeliveryState,
    Ordering,
    record_attempt,
    redrive,
    retry_delay,
    skip,
)
from reseller_plans.domain.delivery_order import next_due, sendable
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.schedule import ALWAYS

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)
NO_JITTER = DeliverySettings(jitter=0)


def half() -> float:
    return 0.5


def delivery(event: str = "E1", sub: str = "S1", seq: int = 1, **changes: object) -> DeliveryRecord:
    record = DeliveryRecord(endpoint_id="crm", event_id=event, subscription_id=sub, sequence=seq)
    return attrs.evolve(record, **changes) if changes else record


def failed(at: dt.datetime, *, status: int | None = 503, retry_after: float | None = None):
    return AttemptResult(AttemptOutcome.FAILED, at, status=status, error="HTTP 503",
                         retry_after=retry_after)  # fmt: skip


# -- the backoff schedule --------------------------------------------------------------------


def test_the_default_schedule_waits_5s_30s_2min_10min_30min_then_an_hour_each_time() -> None:
    waits = [retry_delay(n, NO_JITTER, random=half) for n in range(1, 10)]

    assert waits == [5 * S, 30 * S, 120 * S, 600 * S, 1800 * S, *[3600 * S] * 4]
    assert DEFAULT_BACKOFF[-1] == dt.timedelta(hours=1)


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 30 * S), (0.5, 26.25 * S), (1.0, 22.5 * S)])
def test_jitter_takes_up_to_its_fraction_off_the_wait(draw: float, expected: dt.timedelta) -> None:
    assert retry_delay(2, DeliverySettings(jitter=0.25), random=lambda: draw) == expected


@given(st.integers(1, 40), st.floats(0, 1), st.floats(0, 1))
def test_a_wait_stays_within_its_step_less_jitter_and_never_shortens(
    attempts: int, draw: float, jitter: float
) -> None:
    settings = DeliverySettings(jitter=jitter)
    step = DEFAULT_BACKOFF[min(attempts, len(DEFAULT_BACKOFF)) - 1]

    wait = retry_delay(attempts, settings, random=lambda: draw)

    assert step * (1 - jitter) - S / 1000 <= wait <= step
    assert retry_delay(attempts + 1, settings, random=lambda: 0.0) >= step


def test_a_longer_retry_after_is_honoured_up_to_its_cap() -> None:
    settings = DeliverySettings(jitter=0, max_retry_after=dt.timedelta(minutes=10))

    assert retry_delay(1, settings, random=half, retry_after=120) == 120 * S
    assert retry_delay(1, settings, random=half, retry_after=1) == 5 * S  # shorter: ignored
    assert retry_delay(1, settings, random=half, retry_after=86400) == 600 * S


def test_retry_delay_refuses_no_attempts_and_a_random_out_of_range() -> None:
    with pytest.raises(InvalidInput, match="attempts must be 1 or more"):
        retry_delay(0, NO_JITTER, random=half)
    with pytest.raises(InvalidInput, match="random"):
        retry_delay(1, NO_JITTER, random=lambda: 1.5)


# -- the settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backoff": ()}, "at least one wait"),
        ({"backoff": (5 * S, -S)}, "positive timedelta"),
        ({"backoff": (30 * S, 5 * S)}, "must not get shorter"),
        ({"backoff": (5,)}, "positive timedelta"),
        ({"jitter": 1.5}, "between 0 and 1"),
        ({"jitter": True}, "between 0 and 1"),
        ({"max_attempts": 0}, "1 or more"),
        ({"max_attempts": 2.5}, "1 or more"),
        ({"max_age": dt.timedelta(0)}, "positive timedelta"),
        ({"max_retry_after": None}, "positive timedelta"),
        ({"max_attempts": None, "max_age": None}, "needs a budget"),
        ({"ordering": "first come"}, "'hold_back', 'skip_ahead'"),
    ],
)
def test_settings_out_of_range_are_refused_with_a_message(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        DeliverySettings(**changes)  # type: ignore[arg-type]


def test_settings_defaults_hold_back_with_15_attempts_within_a_day() -> None:
    settings = DeliverySettings()

    assert settings.ordering is Ordering.HOLD_BACK
    assert (settings.max_attempts, settings.max_age) == (15, dt.timedelta(days=1))
    assert DeliverySettings(ordering="SKIP_AHEAD").ordering is Ordering.SKIP_AHEAD
    assert DeliverySettings(backoff=[S, S]).backoff == (S, S)  # any iterable, kept as a tuple


# -- folding attempts in -----------------------------------------------------------------------


def test_a_first_failure_counts_the_attempt_and_schedules_the_first_retry() -> None:
    record = record_attempt(delivery(), failed(T0), NO_JITTER, random=half)

    assert record.state is DeliveryState.PENDING
    assert (record.attempts, record.first_attempt_at) == (1, T0)
    assert record.next_attempt_at == T0 + 5 * S
    assert record.last_result == failed(T0)
    assert not record.is_due(T0 + 4 * S)
    assert record.is_due(T0 + 5 * S)


def test_a_2xx_delivers_and_keeps_the_first_attempt_time() -> None:
    record = record_attempt(delivery(), failed(T0), NO_JITTER, random=half)
    ok = AttemptResult(AttemptOutcome.DELIVERED, T0 + 5 * S, status=200)

    record = record_attempt(record, ok, NO_JITTER, random=half)

    assert record.state is DeliveryState.DELIVERED
    assert (record.attempts, record.first_attempt_at, record.next_attempt_at) == (2, T0, None)
    assert not record.is_due(T0 + 10 * S)


def test_a_410_is_a_dead_letter_at_once_as_gone() -> None:
    gone = AttemptResult(AttemptOutcome.GONE, T0, status=410, error="HTTP 410 Gone")

    record = record_attempt(delivery(), gone, DeliverySettings(), random=half)

    assert (record.state, record.dead_reason, record.next_attempt_at) == (
        DeliveryState.DEAD, DeadReason.GONE, None,
    )  # fmt: skip


def test_the_last_allowed_attempt_failing_is_a_dead_letter() -> None:
    settings = DeliverySettings(jitter=0, max_attempts=3, max_age=None)
    record = delivery()
    at = T0
    for _ in range(3):
        assert record.state is DeliveryState.PENDING
        record = record_attempt(record, failed(at), settings, random=half)
        at = record.next_attempt_at or at

    assert (record.state, record.dead_reason, record.attempts) == (
        DeliveryState.DEAD, DeadReason.ATTEMPTS, 3,
    )  # fmt: skip


def test_a_next_attempt_later_than_max_age_after_the_first_is_a_dead_letter() -> None:
    settings = DeliverySettings(jitter=0, max_attempts=None, max_age=dt.timedelta(minutes=3))
    record = record_attempt(delivery(), failed(T0), settings, random=half)  # next at +5 s
    record = record_attempt(record, failed(T0 + 5 * S), settings, random=half)  # next at +35 s
    record = record_attempt(record, failed(T0 + 35 * S), settings, random=half)  # +155 s: fits
    assert record.state is DeliveryState.PENDING

    record = record_attempt(record, failed(T0 + 155 * S), settings, random=half)  # +755 s: no

    assert (record.state, record.dead_reason) == (DeliveryState.DEAD, DeadReason.AGE)


def test_with_the_defaults_a_receiver_that_never_answers_is_tried_15_times_over_hours() -> None:
    settings = DeliverySettings()
    record = delivery()
    at = T0
    while record.state is DeliveryState.PENDING:
        record = record_attempt(record, failed(at, status=None), settings, random=half)
        at = record.next_attempt_at or at

    assert (record.attempts, record.dead_reason) == (15, DeadReason.ATTEMPTS)
    assert dt.timedelta(hours=8) < at - T0 < dt.timedelta(hours=10)


def test_a_late_failure_changes_nothing_but_a_late_success_delivers() -> None:
    dead = delivery(state=DeliveryState.DEAD, dead_reason=DeadReason.ATTEMPTS, attempts=15)
    done = delivery(state=DeliveryState.DELIVERED, attempts=1)
    ok = AttemptResult(AttemptOutcome.DELIVERED, T0, status=204)

    assert record_attempt(dead, failed(T0), NO_JITTER, random=half) == dead
    assert record_attempt(done, failed(T0), NO_JITTER, random=half) == done
    assert record_attempt(done, ok, NO_JITTER, random=half) == done
    assert record_attempt(dead, ok, NO_JITTER, random=half).state is DeliveryState.DELIVERED


# -- redrive and skip --------------------------------------------------------------------------


def test_a_redrive_starts_a_fresh_budget_at_once_and_records_who_and_when() -> None:
    settings = DeliverySettings(jitter=0, max_attempts=2)
    record = record_attempt(delivery(), failed(T0), settings, random=half)
    record = record_attempt(record, failed(T0 + 5 * S), settings, random=half)
    assert record.state is DeliveryState.DEAD
    later = T0 + dt.timedelta(hours=2)

    record = redrive(record, by="distributor 100", at=later)

    assert record.state is DeliveryState.PENDING
    assert (record.attempts, record.first_attempt_at, record.dead_reason) == (0, None, None)
    assert (record.redriven_by, record.redriven_at) == ("distributor 100", later)
    assert record.redrives == 1
    assert record.next_attempt_at == later
    assert record.last_result is not None  # the history of why it died stays
    assert record.is_due(later)


@pytest.mark.parametrize("state", [DeliveryState.PENDING, DeliveryState.DELIVERED])
def test_only_a_dead_or_skipped_delivery_can_be_redriven(state: DeliveryState) -> None:
    with pytest.raises(InvalidInput, match=f"event E1 to endpoint crm is {state.value}"):
        redrive(delivery(state=state), by="ops", at=T0)


def test_a_skip_records_who_and_when_and_a_skipped_one_can_be_redriven() -> None:
    dead = delivery(state=DeliveryState.DEAD, dead_reason=DeadReason.ATTEMPTS)

    skipped = skip(dead, by="ops@disti", at=T0)

    assert (skipped.state, skipped.skipped_by, skipped.skipped_at) == (
        DeliveryState.SKIPPED, "ops@disti", T0,
    )  # fmt: skip
    again = redrive(skipped, by="ops@disti", at=T0 + S)
    assert (again.state, again.skipped_by) == (DeliveryState.PENDING, None)
    with pytest.raises(InvalidInput, match="only a dead or pending delivery can be skipped"):
        skip(skipped, by="ops", at=T0)


@pytest.mark.parametrize(
    ("by", "at", "message"),
    [("", T0, "by must name who asks"), (None, T0, "by must name"),
     ("ops", dt.datetime(2026, 1, 1), "timezone-aware"), ("o\x00ps", T0, "NUL")],
)  # fmt: skip
def test_an_operator_action_names_who_asks_and_an_aware_instant(
    by: object, at: dt.datetime, message: str
) -> None:
    dead = delivery(state=DeliveryState.DEAD)
    with pytest.raises(InvalidInput, match=message):
        redrive(dead, by=by, at=at)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=message):
        skip(dead, by=by, at=at)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"endpoint_id": ""}, "endpoint_id"), ({"sequence": -1}, "sequence"),
     ({"attempts": True}, "attempts"), ({"next_attempt_at": dt.datetime(2026, 1, 1)}, "aware"),
     ({"event_id": "a\x00"}, "NUL")],
)  # fmt: skip
def test_a_record_refuses_what_a_store_could_not_have_written(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        delivery(**changes)


def test_an_attempt_result_needs_an_aware_instant() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        AttemptResult(AttemptOutcome.DELIVERED, dt.datetime(2026, 1, 1))


# -- the order ---------------------------------------------------------------------------------


def _ids(records: list[DeliveryRecord]) -> list[str]:
    return [record.event_id for record in records]


def test_only_the_first_undelivered_event_of_a_subscription_may_go() -> None:
    pending = [delivery("E3", seq=3), delivery("E1", seq=1), delivery("E2", seq=2)]

    assert _ids(sendable(pending, T0, DeliverySettings())) == ["E1"]


def test_a_subscription_waits_for_its_next_event_to_be_due_and_does_not_pass_it() -> None:
    first = delivery("E1", seq=1, attempts=1, next_attempt_at=T0 + 30 * S)
    second = delivery("E2", seq=2)

    assert sendable([first, second], T0, DeliverySettings()) == []
    assert _ids(sendable([first, second], T0 + 30 * S, DeliverySettings())) == ["E1"]
    assert next_due([first, second], DeliverySettings()) == T0 + 30 * S


def test_delivered_and_skipped_events_are_passed_over() -> None:
    records = [
        delivery("E1", seq=1, state=DeliveryState.DELIVERED),
        delivery("E2", seq=2, state=DeliveryState.SKIPPED),
        delivery("E3", seq=3),
        delivery("E4", seq=4),
    ]

    assert _ids(sendable(records, T0, DeliverySettings())) == ["E3"]


def test_a_dead_letter_holds_back_its_subscription_while_others_go_on() -> None:
    records = [
        delivery("E1", "S1", 1, state=DeliveryState.DEAD, dead_reason=DeadReason.ATTEMPTS),
        delivery("E2", "S1", 2),
        delivery("E3", "S2", 3),
        delivery("E4", "S2", 4),
    ]
    settings = DeliverySettings()

    assert _ids(sendable(records, T0, settings)) == ["E3"]
    assert next_due(records[:2], settings) is None  # S1 waits for an operator


def test_with_skip_ahead_a_dead_letter_lets_its_subscription_go_on() -> None:
    records = [
        delivery("E1", "S1", 1, state=DeliveryState.DEAD, dead_reason=DeadReason.ATTEMPTS),
        delivery("E2", "S1", 2),
    ]

    assert _ids(sendable(records, T0, DeliverySettings(ordering=Ordering.SKIP_AHEAD))) == ["E2"]


def test_a_redriven_dead_letter_goes_first_again_and_then_the_rest() -> None:
    dead = delivery("E1", "S1", 1, state=DeliveryState.DEAD, dead_reason=DeadReason.ATTEMPTS)
    rest = delivery("E2", "S1", 2)
    settings = DeliverySettings()

    redriven = redrive(dead, by="ops", at=T0)

    assert sendable([redriven, rest], T0, settings) == [redriven]
    done = attrs.evolve(redriven, state=DeliveryState.DELIVERED)
    assert sendable([done, rest], T0, settings) == [rest]


def test_each_endpoint_keeps_its_own_order() -> None:
    dead = delivery("E1", "S1", 1, state=DeliveryState.DEAD)
    other = attrs.evolve(delivery("E1", "S1", 1), endpoint_id="billing")
    later_other = attrs.evolve(delivery("E2", "S1", 2), endpoint_id="billing")

    chosen = sendable([dead, delivery("E2", "S1", 2), later_other, other], T0, DeliverySettings())

    assert [(r.endpoint_id, r.event_id) for r in chosen] == [("billing", "E1")]


def test_next_due_is_always_for_a_delivery_never_tried_and_none_for_nothing() -> None:
    assert next_due([delivery()], DeliverySettings()) == ALWAYS
    assert next_due([], DeliverySettings()) is None


@given(
    st.lists(
        st.tuples(st.sampled_from(["S1", "S2", "S3"]), st.sampled_from(list(DeliveryState))),
        max_size=12,
    ),
    st.sampled_from(list(Ordering)),
)
def test_sendable_never_sends_an_event_before_an_undelivered_earlier_one_of_its_subscription(
    rows: list[tuple[str, DeliveryState]], ordering: Ordering
) -> None:
    records = [delivery(f"E{i}", sub, i, state=state) for i, (sub, state) in enumerate(rows)]

    chosen = sendable(records, T0, DeliverySettings(ordering=ordering))

    assert len({r.subscription_id for r in chosen}) == len(chosen)
    for record in chosen:
        assert record.state is DeliveryState.PENDING
        earlier = [r for r in records if r.subscription_id == record.subscription_id
                   and r.sequence < record.sequence]  # fmt: skip
        allowed = {DeliveryState.DELIVERED, DeliveryState.SKIPPED}
        if ordering is Ordering.SKIP_AHEAD:
            allowed.add(DeliveryState.DEAD)
        assert all(r.state in allowed for r in earlier)
