"""``reseller_plans.testing.packing``: what the simulator's store packs comes back equal, with the
same types and time zones, whatever it holds; and packing keeps no state between calls."""

from __future__ import annotations

import datetime as dt
import typing
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reseller_plans.domain.events import EVENT_TYPES, Event, Renewed, Requested, Suspended
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import (
    Operation,
    Subscription,
    SubscriptionStatus,
    Term,
)
from reseller_plans.ports import OutboxEntry
from reseller_plans.testing import packing
from reseller_plans.testing.packing import (
    append_entry,
    from_instant,
    has_entry,
    instant,
    pack_events,
    pack_subscription,
    unpack_entries,
    unpack_events,
    unpack_subscription,
)
from strategies import instants, outbox_entries, plans, subscriptions

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

_FIELD_VALUES: dict[object, st.SearchStrategy[object]] = {
    str: st.text(max_size=12),
    bool: st.booleans(),
    Plan: plans,
    dt.datetime: instants,
}


@st.composite
def events(draw: st.DrawFn, subscription_id: str = "sub_1") -> Event:
    """An event of any class, each field drawn after its declared type."""
    cls = draw(st.sampled_from(list(EVENT_TYPES.values())))
    hints = typing.get_type_hints(cls)
    fields = {
        f.name: draw(_FIELD_VALUES[hints[f.name]])
        for f in attrs.fields(cls)[1:]
        if f.name != "audit"  # the PackedStore keeps no audit, by design
    }
    return cls(subscription_id, **fields)


def same(a: object, b: object) -> bool:
    """Equal, of the same type, and for datetimes with the same time zone."""
    if isinstance(a, dt.datetime):
        return type(b) is dt.datetime and a == b and a.utcoffset() == b.utcoffset()
    return type(a) is type(b) and a == b


@given(st.lists(events(), max_size=6), st.integers(0, 6))
def test_events_come_back_equal_in_order_with_their_types(expected: list[Event], cut: int) -> None:
    history = pack_events(None, expected[:cut])  # two commits: the second appends
    history = pack_events(history, expected[cut:])

    back = unpack_events("sub_1", history)

    assert back == expected
    for a, b in zip(expected, back, strict=True):
        assert all(same(x, y) for x, y in zip(attrs.astuple(a), attrs.astuple(b), strict=True))


def test_every_event_class_has_a_layout_that_knows_its_fields() -> None:
    # The layouts follow from EVENT_TYPES at import: a new event class is packed without more.
    for cls in EVENT_TYPES.values():
        hints = typing.get_type_hints(cls)
        packed = [f for f in attrs.fields(cls) if f.name != "audit"]  # not kept, by design
        assert all(hints[f.name] in _FIELD_VALUES for f in packed), cls


@given(instants)
def test_instants_come_back_exactly_and_utc_stays_utc_itself(when: dt.datetime) -> None:
    back = from_instant(instant(when))

    assert back == when
    assert back.utcoffset() == when.utcoffset()
    if when.tzinfo is dt.UTC:
        assert back.tzinfo is dt.UTC


@pytest.mark.parametrize("value", [{"a": 1}, 1.5, object()], ids=["dict", "float", "object"])
def test_an_event_with_a_value_of_another_type_is_refused(value: object) -> None:
    odd = Requested("sub_1", T0, "R-1", Plan.FREE, value)  # type: ignore[arg-type]

    with pytest.raises(TypeError, match="cannot pack"):
        pack_events(None, [odd])


def test_an_event_of_a_class_outside_the_catalog_is_refused() -> None:
    @attrs.frozen
    class Unknown(Event):
        pass

    with pytest.raises(TypeError, match="not in EVENT_TYPES"):
        pack_events(None, [Unknown("sub_1", T0)])


def test_packing_keeps_no_state_between_calls() -> None:
    # No memo of the last instant, no registry filled as classes are met: the module's globals
    # are the same after packing as before, and the same records pack to the same bytes.
    def state() -> dict[str, str]:
        return {
            name: repr(value)
            for name, value in vars(packing).items()
            if not callable(value) and not name.startswith("__")
        }

    before = state()
    renewed = Renewed("sub_1", T0, T0 + dt.timedelta(days=31))
    first = pack_events(None, [renewed, renewed])
    pack_events(None, [Requested("sub_2", T0, "R-2", Plan.STANDARD, "bss")])

    assert pack_events(None, [renewed, renewed]) == first
    assert state() == before


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
    entry = OutboxEntry("m-1", "sub_1", MessageKind.WELCOME, (), {"note": "m-2"}, T0)

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
    renewed = Renewed("s", when, when)
    (event,) = unpack_events("s", pack_events(None, [renewed]))
    for back in (from_instant(instant(when)), _instant_round_trip(when), event.at):
        assert back == when
        assert back.tzinfo == when.tzinfo  # a ZoneInfo stays one: later renewals follow its DST


def _instant_round_trip(when: dt.datetime) -> dt.datetime:
    term = Term(when, when)
    sub = Subscription("s", "a", "d", Plan.FREE, None, SubscriptionStatus.ACTIVE, term)
    return unpack_subscription(pack_subscription(sub)).term.start


def test_text_with_a_lone_surrogate_packs() -> None:
    text = "non-payment \ud800"
    suspended = Suspended("sub_1", T0, text)
    assert unpack_events("sub_1", pack_events(None, [suspended])) == [suspended]
    entry = OutboxEntry(text, "sub_1", MessageKind.SUSPENDED, (), {"reason": text}, T0)
    data = append_entry(None, entry, keep_context=True)
    assert unpack_entries("sub_1", data) == [entry]
    assert has_entry(data, text)
