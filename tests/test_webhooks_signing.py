"""Signing and verifying as Standard Webhooks does: what verify() refuses, rotation, secrets,
endpoints, the envelope, and agreement with the standardwebhooks package itself."""

from __future__ import annotations

import base64
import datetime as dt
import doctest
import importlib
import json
import pickle
import sys
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks import WebhookVerificationError as LibraryVerificationError

import reseller_plans.webhooks.envelope
import reseller_plans.webhooks.keys
from reseller_plans.domain.errors import InvalidInput, ResellerPlansError
from reseller_plans.logs import REDACTED, Secret, redact
from reseller_plans.testing import FakeClock
from reseller_plans.webhooks import (
    Endpoint,
    RetiredSecret,
    VerificationFailure,
    WebhookSecret,
    WebhookVerificationError,
    build_request,
    render_envelope,
    signature_headers,
    verify,
)

# The secret of the Standard Webhooks specification's own examples, and one of its own.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD = WebhookSecret("whsec_" + base64.b64encode(b"o" * 32).decode())
NEW = WebhookSecret("whsec_" + base64.b64encode(b"n" * 32).decode())
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
BODY = b'{"type":"subscription.activated","id":"evt_1","data":{}}'


def signed(body: bytes = BODY, *, secrets: tuple[WebhookSecret, ...] = (OLD,),
           at: dt.datetime = T0, event_id: str = "evt_1") -> dict[str, str]:  # fmt: skip
    return signature_headers(event_id, body, secrets, at=at)


def refusal(body: bytes, headers: dict[str, str], secrets: Any = OLD, **kwargs: Any):
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, secrets, now=kwargs.pop("now", T0), **kwargs)
    return caught.value


# -- verify() accepts what it should -----------------------------------------------------------


def test_a_signed_delivery_verifies_and_gives_its_json_payload() -> None:
    assert verify(BODY, signed(), OLD, now=T0) == json.loads(BODY)


def test_header_names_are_read_in_any_case() -> None:
    headers = {name.upper(): value for name, value in signed().items()}

    assert verify(BODY, headers, OLD, now=T0)["id"] == "evt_1"


def test_verify_takes_the_secret_as_text_and_a_clock_for_now() -> None:
    assert verify(BODY, signed(), OLD.reveal(), now=FakeClock(T0))["id"] == "evt_1"


def test_verify_reads_the_system_clock_when_given_no_now() -> None:
    now = dt.datetime.now(dt.UTC)

    assert verify(BODY, signed(at=now), OLD)["id"] == "evt_1"


def test_a_timestamp_exactly_at_the_tolerance_passes() -> None:
    headers = signed(at=T0)

    assert verify(BODY, headers, OLD, now=T0 + dt.timedelta(minutes=5))
    assert verify(BODY, headers, OLD, now=T0 - dt.timedelta(minutes=5))


# -- and refuses what it should ----------------------------------------------------------------


def test_a_tampered_body_is_refused_as_a_bad_signature() -> None:
    tampered = BODY.replace(b"activated", b"cancelled")

    error = refusal(tampered, signed())

    assert error.reason is VerificationFailure.BAD_SIGNATURE
    assert "no signature matches" in str(error)


def test_a_delivery_signed_with_another_secret_is_refused() -> None:
    assert refusal(BODY, signed(), NEW).reason is VerificationFailure.BAD_SIGNATURE


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp"])
def test_a_changed_id_or_timestamp_breaks_the_signature(header: str) -> None:
    headers = signed()
    headers[header] = "evt_2" if header == "webhook-id" else str(int(headers[header]) + 1)

    assert refusal(BODY, headers).reason is VerificationFailure.BAD_SIGNATURE


def test_a_stale_timestamp_is_refused_even_with_a_good_signature() -> None:
    error = refusal(BODY, signed(), now=T0 + dt.timedelta(minutes=6))

    assert error.reason is VerificationFailure.STALE_TIMESTAMP
    assert "6 min old, more than the 5 min tolerated" in str(error)


def test_a_timestamp_from_the_future_is_refused() -> None:
    error = refusal(BODY, signed(at=T0 + dt.timedelta(hours=3)))

    assert error.reason is VerificationFailure.FUTURE_TIMESTAMP
    assert "3 h in the future" in str(error)


def test_the_tolerance_is_the_callers() -> None:
    headers = signed()
    later = T0 + dt.timedelta(seconds=90)

    assert verify(BODY, headers, OLD, now=later, tolerance=dt.timedelta(minutes=2))
    error = refusal(BODY, headers, now=later, tolerance=dt.timedelta(minutes=1))
    assert "90 s old, more than the 60 s tolerated" in str(error)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused_and_named(missing: str) -> None:
    headers = signed()
    del headers[missing]

    error = refusal(BODY, headers)

    assert error.reason is VerificationFailure.MISSING_HEADER
    assert f"the {missing} header is missing" in str(error)


def test_all_missing_headers_are_named_and_an_empty_one_counts_as_missing() -> None:
    error = refusal(BODY, {"webhook-id": " ", "content-type": "application/json"})

    assert "webhook-id, webhook-timestamp, webhook-signature headers are missing" in str(error)


@pytest.mark.parametrize("stamp", ["1.5e9", "-1", "soon", "١٢٣", "9" * 12])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(stamp: str) -> None:
    headers = signed()
    headers["webhook-timestamp"] = stamp

    assert refusal(BODY, headers).reason is VerificationFailure.INVALID_TIMESTAMP


@pytest.mark.parametrize("value", ["", "v2,abc", "v1,", "garbage", "v1a,xyz v1,AAAA"])
def test_a_signature_header_without_a_matching_v1_signature_is_refused(value: str) -> None:
    headers = signed()
    headers["webhook-signature"] = value or " "

    reason = refusal(BODY, headers).reason
    assert reason in (VerificationFailure.BAD_SIGNATURE, VerificationFailure.MISSING_HEADER)


def test_other_signature_versions_beside_ours_are_ignored() -> None:
    headers = signed()
    headers["webhook-signature"] = "v1a,c29tZWtleQ== " + headers["webhook-signature"]

    assert verify(BODY, headers, OLD, now=T0)


def test_a_signed_body_that_is_not_json_is_refused_after_the_signature() -> None:
    body = b"\xff not json"

    assert refusal(body, signed(body)).reason is VerificationFailure.NOT_JSON


@pytest.mark.parametrize(
    ("body", "secrets", "kwargs", "message"),
    [
        ("text", OLD, {}, "raw body as bytes"),
        (BODY, [], {}, "at least one secret"),
        (BODY, 42, {}, "a webhook secret or several"),
        (BODY, "hunter2", {}, "starts with 'whsec_'"),
        (BODY, OLD, {"now": dt.datetime(2026, 3, 1)}, "timezone-aware"),
        (BODY, OLD, {"tolerance": dt.timedelta(0)}, "positive timedelta"),
    ],
)
def test_a_call_that_cannot_be_right_is_invalid_input_not_a_refusal(
    body: Any, secrets: Any, kwargs: dict[str, Any], message: str
) -> None:
    kwargs.setdefault("now", T0)
    with pytest.raises(InvalidInput, match=message):
        verify(body, signed(), secrets, **kwargs)


def test_the_verification_error_is_a_library_error_that_pickles_with_its_reason() -> None:
    error = refusal(BODY, signed(), NEW)

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object

    assert isinstance(error, ResellerPlansError)
    assert (copy.reason, str(copy)) == (error.reason, str(error))


# -- rotation ----------------------------------------------------------------------------------


def _rotated() -> Endpoint:
    endpoint = Endpoint("crm", "https://crm.example/hooks", OLD)
    return endpoint.rotate(NEW, at=T0, overlap=dt.timedelta(hours=24))


def test_during_the_overlap_a_receiver_with_either_secret_verifies() -> None:
    endpoint = _rotated()
    at = T0 + dt.timedelta(hours=23)
    request = build_request(endpoint, "evt_1", BODY, at=at)

    assert len(request.headers["webhook-signature"].split()) == 2
    assert verify(BODY, request.headers, OLD, now=at)
    assert verify(BODY, request.headers, NEW, now=at)


def test_after_until_only_the_new_secret_verifies() -> None:
    endpoint = _rotated()
    at = T0 + dt.timedelta(hours=24)
    request = build_request(endpoint, "evt_1", BODY, at=at)

    assert verify(BODY, request.headers, NEW, now=at)
    assert refusal(BODY, request.headers, OLD, now=at).reason is VerificationFailure.BAD_SIGNATURE


def test_a_receiver_holding_both_secrets_verifies_either_way() -> None:
    only_old = signed(secrets=(OLD,))
    only_new = signed(secrets=(NEW,))

    assert verify(BODY, only_old, [NEW, OLD], now=T0)
    assert verify(BODY, only_new, [NEW.reveal(), OLD.reveal()], now=T0)


def test_signing_secrets_are_the_current_then_the_retired_still_valid() -> None:
    endpoint = _rotated()

    assert endpoint.signing_secrets(T0) == (NEW, OLD)
    assert endpoint.signing_secrets(T0 + dt.timedelta(days=1)) == (NEW,)
    assert endpoint.previous_secrets == (RetiredSecret(OLD, T0 + dt.timedelta(days=1)),)


def test_rotating_again_drops_retired_secrets_whose_overlap_ended() -> None:
    third = WebhookSecret.generate()

    endpoint = _rotated().rotate(third, at=T0 + dt.timedelta(days=2), overlap=dt.timedelta(0))

    assert endpoint.previous_secrets == (RetiredSecret(NEW, T0 + dt.timedelta(days=2)),)
    assert endpoint.signing_secrets(T0 + dt.timedelta(days=2)) == (third,)


def test_rotation_refuses_the_same_secret_a_naive_instant_or_a_negative_overlap() -> None:
    endpoint = Endpoint("crm", "https://crm.example/hooks", OLD)
    with pytest.raises(InvalidInput, match="the new secret is the current one"):
        endpoint.rotate(OLD.reveal(), at=T0, overlap=dt.timedelta(hours=1))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        endpoint.rotate(NEW, at=dt.datetime(2026, 1, 1), overlap=dt.timedelta(hours=1))
    with pytest.raises(InvalidInput, match="overlap"):
        endpoint.rotate(NEW, at=T0, overlap=dt.timedelta(hours=-1))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        endpoint.signing_secrets(dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        RetiredSecret(OLD, dt.datetime(2026, 1, 1))  # type: ignore[arg-type]


# -- secrets -----------------------------------------------------------------------------------


def test_a_secret_never_shows_itself_and_is_redacted_wherever_it_appears() -> None:
    secret = WebhookSecret.generate()

    assert secret.reveal() not in repr(secret) + str(secret)
    scrubbed = redact(f"the receiver said: bad key {secret.reveal()}")
    # Other tests of the run register secrets of their own: check ours, not the exact text.
    assert secret.reveal() not in scrubbed
    assert scrubbed.endswith(f"key {REDACTED}")


def test_generated_secrets_are_random_32_bytes_and_the_size_is_checked() -> None:
    one, two = WebhookSecret.generate(), WebhookSecret.generate()

    assert one != two
    assert len(one.key) == 32
    assert len(WebhookSecret.generate(64).key) == 64
    with pytest.raises(InvalidInput, match="24 to 64 random bytes"):
        WebhookSecret.generate(16)
    with pytest.raises(InvalidInput, match="whole number"):
        WebhookSecret.generate(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="24 to 64 random bytes"):
        WebhookSecret.generate(0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with 'whsec_'"),
        ("whsec_not base64!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 random bytes, this one 5"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "this one 65"),
        (b"whsec_abc", "text"),
    ],
)
def test_a_secret_not_in_the_whsec_form_is_refused(text: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        WebhookSecret(text)


def test_a_secret_in_the_specs_unpadded_form_is_the_same_key_as_the_library_reads() -> None:
    ours = WebhookSecret(SPEC_SECRET)

    assert ours.key == Webhook(SPEC_SECRET)._whsecret
    assert ours == WebhookSecret(ours) == WebhookSecret(Secret(SPEC_SECRET))


# -- the standardwebhooks package agrees -------------------------------------------------------


def test_the_specs_example_signature_is_what_we_compute() -> None:
    # The example of the Standard Webhooks specification's libraries' tests.
    body = b'{"test": 2432232314}'
    at = dt.datetime.fromtimestamp(1614265330, dt.UTC)

    headers = signature_headers("msg_p5jXN8AQM9LWM0D4loKWxJek", body, [WebhookSecret(SPEC_SECRET)],
                                at=at)  # fmt: skip

    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_a_delivery_we_sign_verifies_with_the_library_and_one_it_signs_with_ours() -> None:
    now = dt.datetime.now(dt.UTC)
    ours = signed(at=now, secrets=(NEW, OLD))

    assert Webhook(OLD.reveal()).verify(BODY, ours) == json.loads(BODY)
    theirs = {
        "webhook-id": "evt_9",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(NEW.reveal()).sign("evt_9", now, BODY),
    }
    assert verify(BODY, theirs, NEW, now=now) == json.loads(BODY)
    with pytest.raises(LibraryVerificationError):
        Webhook(NEW.reveal()).verify(BODY + b" ", ours)


ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
keys = st.binary(min_size=24, max_size=64).map(
    lambda key: WebhookSecret("whsec_" + base64.b64encode(key).decode())
)
instants = st.integers(0, 4_000_000_000).map(lambda s: dt.datetime.fromtimestamp(s, dt.UTC))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(json_values, keys, ids, instants)
def test_whatever_we_sign_verifies_and_gives_back_the_payload(
    payload: object, secret: WebhookSecret, event_id: str, at: dt.datetime
) -> None:
    body = json.dumps(payload).encode()
    headers = signature_headers(event_id, body, [secret], at=at)

    assert verify(body, headers, secret, now=at) == payload
    assert headers["webhook-signature"] == Webhook(secret.key).sign(event_id, at, body)


@given(st.binary(min_size=1, max_size=300), st.data(), keys)
def test_any_single_byte_change_of_the_body_fails(
    body: bytes, data: st.DataObject, secret: WebhookSecret
) -> None:
    headers = signature_headers("evt_1", body, [secret], at=T0)
    index = data.draw(st.integers(0, len(body) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != body[index]))
    changed = body[:index] + bytes([byte]) + body[index + 1 :]

    with pytest.raises(WebhookVerificationError) as caught:
        verify(changed, headers, secret, now=T0)
    assert caught.value.reason is VerificationFailure.BAD_SIGNATURE


# -- endpoints ---------------------------------------------------------------------------------


def test_an_endpoint_keeps_its_settings_and_hides_credentials_in_its_repr() -> None:
    endpoint = Endpoint("crm", "https://hook:pw@crm.example:8443/in?token=t0ps3cret", OLD.reveal(),
                        event_types=["subscription.activated"], name="CRM")  # fmt: skip

    assert endpoint.secret == OLD
    assert endpoint.label == "CRM"
    assert endpoint.display_url == "https://crm.example:8443/in"
    for hidden in ("pw", "t0ps3cret", OLD.reveal()):
        assert hidden not in repr(endpoint)


def test_an_endpoint_with_no_event_types_accepts_every_type() -> None:
    every = Endpoint("all", "http://127.0.0.1:9000/", OLD)
    some = Endpoint("some", "http://[::1]:9000/", OLD, event_types={"subscription.cancelled"})

    assert every.event_types == frozenset()
    assert every.accepts("subscription.activated")
    assert every.label == "all"
    assert some.accepts("subscription.cancelled")
    assert not some.accepts("subscription.activated")
    assert some.display_url == "http://[::1]:9000/"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": ""}, "id must be non-empty"),
        ({"id": "x" * 201}, "at most 200"),
        ({"id": "a\x00b"}, "NUL"),
        ({"url": "ftp://crm.example/"}, "http:// or https://, not 'ftp'"),
        ({"url": "crm.example/hooks"}, "http:// or https://, not 'none'"),
        ({"url": "https:///hooks"}, "must name a host"),
        ({"url": "https://crm.example/hooks#part"}, "fragment"),
        ({"url": "https://crm.example/ho oks"}, "spaces or control"),
        ({"url": "https://crm.example:99999/"}, "not a valid URL"),
        ({"url": "https://" + "a" * 2048}, "at most 2048"),
        ({"url": b"https://crm.example/"}, "url is text"),
        ({"secret": "hunter2"}, "starts with 'whsec_'"),
        ({"event_types": "subscription.activated"}, "not one text"),
        ({"event_types": ["Subscription Activated"]}, "lowercase words joined by dots"),
        ({"event_types": 7}, "set of event type names"),
        ({"event_types": [7]}, "an event type is text"),
        ({"previous_secrets": [OLD]}, "RetiredSecret values"),
        ({"name": None}, "name is text"),
    ],
)
def test_an_endpoint_refuses_bad_input_with_a_clear_message(
    changes: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {"id": "crm", "url": "https://crm.example/hooks", "secret": OLD}
    values.update(changes)
    with pytest.raises(InvalidInput, match=message):
        Endpoint(**values)


# -- the envelope ------------------------------------------------------------------------------


def test_the_envelope_is_versioned_sorted_compact_and_the_same_bytes_every_time() -> None:
    data = {"plan": "standard", "at": T0 + dt.timedelta(microseconds=5), "name": "Zoë"}
    paris = dt.timezone(dt.timedelta(hours=1))

    body = render_envelope("evt_1", "subscription.activated", T0.astimezone(paris), data)

    assert body == render_envelope(
        "evt_1", "subscription.activated", T0, dict(reversed(data.items()))
    )
    assert json.loads(body) == {
        "type": "subscription.activated",
        "id": "evt_1",
        "timestamp": "2026-03-01T12:00:00Z",
        "version": 1,
        "data": {"plan": "standard", "at": "2026-03-01T12:00:00.000005Z", "name": "Zoë"},
    }
    assert b" " not in body
    assert "Zoë".encode() in body


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("evt 1", "subscription.activated", T0, {}), "visible ASCII"),
        (("", "subscription.activated", T0, {}), "visible ASCII"),
        (("evt_1", "SubscriptionActivated", T0, {}), "lowercase words"),
        (("evt_1", "subscription.activated", dt.datetime(2026, 1, 1), {}), "timezone-aware"),
        (("evt_1", "subscription.activated", "2026-01-01", {}), "timezone-aware"),
        (("evt_1", "subscription.activated", T0, [("a", 1)]), "mapping"),
        (("evt_1", "subscription.activated", T0, {"tags": {"a"}}), "not JSON"),
        (("evt_1", "subscription.activated", T0, {"ratio": float("nan")}), "not JSON"),
        (("evt_1", "subscription.activated", T0, {"text": "\udc80"}), "not JSON"),
        (("evt_1", "subscription.activated", T0, {"at": dt.datetime(2026, 1, 1)}), "aware"),
    ],
)
def test_an_envelope_that_is_not_json_or_breaks_a_rule_is_refused(
    args: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        render_envelope(*args)


def test_nested_mappings_of_any_kind_are_written_as_objects() -> None:
    body = render_envelope("evt_1", "subscription.activated", T0,
                           {"plan": MappingProxyType({"id": "standard"})})  # fmt: skip

    assert json.loads(body)["data"] == {"plan": {"id": "standard"}}


def test_signing_refuses_a_body_that_is_not_bytes_and_no_secret() -> None:
    with pytest.raises(InvalidInput, match="body is bytes"):
        signature_headers("evt_1", "text", [OLD], at=T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="at least one secret"):
        signature_headers("evt_1", BODY, [], at=T0)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        signature_headers("evt_1", BODY, [OLD], at=dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="an event id is text"):
        signature_headers(7, BODY, [OLD], at=T0)  # type: ignore[arg-type]


@pytest.mark.parametrize("module", [reseller_plans.webhooks.envelope, reseller_plans.webhooks.keys])
def test_the_examples_in_the_docstrings_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]

    assert (result.attempted > 0, result.failed) == (True, 0)


def test_without_the_extra_the_import_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "standardwebhooks", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "reseller_plans.webhooks.signing")

    with pytest.raises(ImportError, match=r"pip install 'reseller-plans\[webhooks\]'"):
        importlib.import_module("reseller_plans.webhooks.signing")
