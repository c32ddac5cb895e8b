"""``reseller_plans.stores.packing``: what the in-memory store packs comes back equal, with the
same types and time zones, whatever it holds."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reseller_plans.domain.events import Activated, Renewed
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import (
    Operation,
    Subscription,
    SubscriptionStatus,
    Term,
)
from reseller_plans.ports import OutboxEntry
from reseller_plans.stores.packing import (
    append_entry,
    has_entry,
    pack,
    pack_subscription,
    packed,
    unpack,
    unpack_entries,
    unpack_subscription,
    unpacked,
)
from strategies import instants, outbox_entries, plans, subscriptions

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(),
    instants,
    plans,
    st.sampled_from(MessageKind),
    st.sampled_from([Activated, Renewed, Term]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4).map(tuple), max_leaves=12)


def same(a: object, b: object) -> bool:
    """Equal, of the same type, and for datetimes with the same time zone."""
    if isinstance(a, tuple):
        return (
            isinstance(b, tuple)
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, dt.datetime):
        return type(b) is dt.datetime and a == b and a.utcoffset() == b.utcoffset()
    return type(a) is type(b) and a == b


@given(st.lists(values, max_size=6))
def test_values_come_back_equal_with_their_types(items: list[object]) -> None:
    out = bytearray()
    pack(items, out)

    back, end = unpack(bytes(out), 0, len(items))

    assert end == len(out)
    assert all(same(a, b) for a, b in zip(items, back, strict=True))


@given(instants)
def test_utc_instants_keep_utc_itself(when: dt.datetime) -> None:
    back = unpacked(packed(when))

    assert back == when
    if when.tzinfo is dt.UTC:
        assert back.tzinfo is dt.UTC  # type: ignore[attr-defined]


def test_instants_on_the_hour_take_four_bytes() -> None:
    assert len(packed(dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC))) == 4


@pytest.mark.parametrize("value", [{"a": 1}, 1.5, object()], ids=["dict", "float", "object"])
def test_a_value_of_another_type_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="cannot pack"):
        packed(value)


def test_bytes_that_were_not_packed_are_refused() -> None:
    with pytest.raises(ValueError, match="not packed values"):
        unpacked(bytes([200, 1]))


@given(subscriptions())
def test_subscriptions_come_back_equal(sub: Subscription) -> None:
    back = unpack_subscription(pack_subscription(sub))

    assert back == sub
    assert all(same(a, b) for a, b in zip(attrs.astuple(sub), attrs.astuple(back), strict=True))
    assert back.term.start.utcoffset() == sub.term.start.utcoffset()


def test_the_subscription_layout_knows_every_field() -> None:
    # pack_subscription names each field: a new one must be added there too.
    assert [f.name for f in attrs.fields(Subscription)] == [
        "id",
        "account_id",
        "distributor_id",
        "plan",
        "alias",
        "status",
        "term",
        "channel",
        "pending_change",
        "operation",
        "platform_subscription_id",
        "failure_reason",
        "version",
    ]
    assert [f.name for f in attrs.fields(Operation)] == [
        "kind",
        "plan",
        "previous_plan",
        "steps",
        "done",
        "compensating",
        "undone",
        "sync",
        "reason",
        "detail",
        "id",
        "product_id",
    ]
    assert [f.name for f in attrs.fields(Term)] == [
        "start",
        "end",
        "cycle",
        "auto_renew",
        "anchor_day",
    ]


@given(st.lists(outbox_entries(), max_size=4, unique_by=lambda e: e.id), st.booleans())
def test_outbox_entries_come_back_in_order(entries: list[OutboxEntry], keep: bool) -> None:
    data = None
    for entry in entries:
        data = append_entry(data, entry, keep_context=keep)

    back = [] if data is None else unpack_entries("sub_1", data)

    assert back == [e if keep else attrs.evolve(e, context={}) for e in entries]
    assert all(has_entry(data, e.id) for e in entries if data is not None)


def test_an_id_found_only_inside_another_entry_is_not_an_entry() -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    entry = OutboxEntry("m-1", "sub_1", MessageKind.WELCOME, (), {"note": "m-2"}, at)

    data = append_entry(None, entry, keep_context=True)

    assert has_entry(data, "m-1")
    assert not has_entry(data, "m-2")  # its text is there, in the context: not an entry
    assert not has_entry(data, "m-3")


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime.max.replace(tzinfo=dt.UTC),
        dt.datetime(2600, 6, 1, 12, 0, 0, 999_999, tzinfo=dt.UTC),
        dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 29, 9, tzinfo=ZoneInfo("Europe/Paris")),
        dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(microseconds=1))),
        dt.datetime(2026, 1, 1),
    ],
    ids=["max", "far-future-micros", "before-2000", "zoneinfo", "odd-offset", "naive"],
)
def test_edge_instants_come_back_exactly(when: dt.datetime) -> None:
    for back in (unpacked(packed(when)), _instant_round_trip(when)):
        assert back == when
        assert back.tzinfo == when.tzinfo  # a ZoneInfo stays one: later renewals follow its DST


def _instant_round_trip(when: dt.datetime) -> dt.datetime:
    term = Term(when, when)
    sub = Subscription("s", "a", "d", Plan.FREE, None, SubscriptionStatus.ACTIVE, term)
    return unpack_subscription(pack_subscription(sub)).term.start


def test_text_with_a_lone_surrogate_packs() -> None:
    text = "non-payment \ud800"
    assert unpacked(packed(text)) == text
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    entry = OutboxEntry(text, "sub_1", MessageKind.SUSPENDED, (), {"reason": text}, at)
    data = append_entry(None, entry, keep_context=True)
    assert unpack_entries("sub_1", data) == [entry]
    assert has_entry(data, text)
