"""RetryPolicy, Retry-After parsing and the rate-limit 403 detector."""

from __future__ import annotations

import datetime as dt

import pytest

from reseller_plans.http import RateLimitDetector, RetryPolicy, parse_retry_after

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def test_backoff_doubles_from_the_initial_wait_up_to_the_cap_less_jitter() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=3.0, jitter=0.25, random=lambda: 1.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [0.375, 0.75, 1.5, 2.25]


def test_backoff_without_jitter_is_exact() -> None:
    policy = RetryPolicy(initial_backoff=1.0, jitter=0.0, random=lambda: 0.9)
    assert policy.backoff(3) == 4.0


def test_no_retries_keeps_everything_but_the_attempts() -> None:
    policy = RetryPolicy(max_attempts=5, initial_backoff=2.0)
    single = policy.no_retries()
    assert single.max_attempts == 1
    assert single.initial_backoff == 2.0


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_attempts", 0), ("initial_backoff", 0.0), ("max_backoff", -1.0), ("jitter", 1.5),
     ("max_retry_after", float("inf"))],
)  # fmt: skip
def test_policy_refuses_nonsense(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


def test_policy_repr_hides_callables() -> None:
    assert "sleep" not in repr(RetryPolicy())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Mon, 05 Jan 2026 09:00:30 GMT", 30.0),
        ("Mon, 05 Jan 2026 08:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(
    value: str | None, expected: float | None
) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_rate_limit_detector_reads_body_and_headers() -> None:
    detect = RateLimitDetector()
    assert detect({"retry-after": "5"}, "")
    assert detect({"x-ratelimit-remaining": "0"}, "")
    assert not detect({"x-ratelimit-remaining": "10"}, "")
    assert detect({}, '{"message": "API Rate Limit exceeded"}')
    assert detect({}, "Too Many Requests")
    assert not detect({}, '{"message": "You are not allowed to cancel"}')


def test_rate_limit_detector_is_configurable() -> None:
    detect = RateLimitDetector(body_markers=("slow down",), retry_after_headers=())
    assert detect({}, "please SLOW DOWN")
    assert not detect({"retry-after": "5"}, "forbidden")
