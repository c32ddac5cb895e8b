"""Failed work is never silent: a message the mail server refuses for good is a
``MessageFailed`` event, counts in ``DueReport`` and in the bulk report, is found by the
outbox's queries, and goes again when someone resends it (recorded as ``MessageResent``).

Over every store (in memory, the packed one, a SQLite file, PostgreSQL), and paging through
the outbox while its messages change."""

from __future__ import annotations

import datetime as dt

import pytest

from reseller_plans import Actor, Forbidden, InvalidInput, NotFound, Plan
from reseller_plans.bulk import BulkUpgrade, UpgradeRow
from reseller_plans.domain.events import MessageFailed, MessageResent
from reseller_plans.domain.messages import MessageKind, MessageStatus
from reseller_plans.ports import OutboxEntry
from service_world import World, world_fixture
from store_kinds import store_fixture

make_store = store_fixture("memory", "packed", "sqlite", "postgres")
world = world_fixture("3500", "3501", "3502", "3503", "3504")


def _refusing(world: World) -> None:
    world.faults.fail("mailer.send", times=None, permanent=True)


def test_a_refused_welcome_email_is_an_event_a_count_and_a_query(world: World) -> None:
    _refusing(world)
    sub = world.plans.upgrade("3500", Plan.STANDARD, alias="first", actor=world.disti)
    assert sub.status.value == "active"  # the upgrade itself worked
    failed = [e for e in world.plans.history(sub.id) if isinstance(e, MessageFailed)]
    assert len(failed) == 1
    assert failed[0].kind == "welcome"
    assert "injected permanent failure" in failed[0].error
    (entry,) = world.plans.messages(status="failed")
    assert entry.id == failed[0].message_id
    assert entry.status is MessageStatus.FAILED
    assert list(world.plans.messages(status=MessageStatus.WAITING)) == []

    report = world.plans.run_due()  # refused in the command: this run sends nothing ...
    assert (report.emails_sent, report.emails_refused) == (0, 0)
    assert report.messages_failed == 1  # ... but says what waits for a resend
    assert world.plans.run_due().messages_failed == 1  # every run, until someone resends


def test_a_message_refused_during_run_due_counts_as_refused_there(world: World) -> None:
    world.faults.fail("mailer.send", times=1)  # down for now: the command leaves it waiting
    sub = world.plans.upgrade("3500", Plan.STANDARD, alias="first", actor=world.disti)
    assert [m.status for m in world.plans.outbox(sub.id)] == [MessageStatus.WAITING]
    _refusing(world)
    report = world.plans.run_due()
    assert (report.emails_failed, report.emails_refused, report.messages_failed) == (1, 1, 1)


def test_resend_starts_the_attempts_over_and_records_who_asked(world: World) -> None:
    _refusing(world)
    sub = world.plans.upgrade("3500", Plan.STANDARD, alias="first", actor=world.disti)
    (entry,) = world.plans.messages(status="failed")
    world.faults.clear()  # the mail server is fixed

    sent = world.plans.resend(entry.id, actor=world.disti)

    assert sent.status is MessageStatus.SENT
    assert sent.attempts == 1  # started over
    assert sent.id == entry.id  # the same Message-ID
    assert len(world.mailer.sent) == 1
    resent = [e for e in world.plans.history(sub.id) if isinstance(e, MessageResent)]
    assert [(e.message_id, e.actor) for e in resent] == [(entry.id, "distributor D-100")]
    assert world.plans.run_due().messages_failed == 0
    with pytest.raises(InvalidInput, match="nothing to resend"):
        world.plans.resend(entry.id, actor=world.disti)


def test_a_resend_that_is_refused_again_stays_failed(world: World) -> None:
    _refusing(world)
    world.plans.upgrade("3500", Plan.STANDARD, alias="first", actor=world.disti)
    (entry,) = world.plans.messages(status="failed")
    again = world.plans.resend(entry.id, actor=world.disti)
    assert again.status is MessageStatus.FAILED
    assert again.attempts == 1
    assert world.plans.run_due().messages_failed == 1


def test_resend_is_the_distributors_and_refuses_bad_input_changing_nothing(
    world: World,
) -> None:
    _refusing(world)
    sub = world.plans.upgrade("3500", Plan.STANDARD, alias="first", actor=world.disti)
    (entry,) = world.plans.messages(status="failed")
    before = world.plans.history(sub.id)
    with pytest.raises(Forbidden):
        world.plans.resend(entry.id, actor=Actor.reseller("3500"))
    with pytest.raises(Forbidden):
        world.plans.resend(entry.id, actor=Actor.distributor("D-200"))
    with pytest.raises(NotFound):
        world.plans.resend("no-such-message", actor=world.disti)
    with pytest.raises(InvalidInput):
        world.plans.resend("", actor=world.disti)
    with pytest.raises(InvalidInput):
        world.plans.resend(entry.id, actor="distributor D-100")  # type: ignore[arg-type]
    assert world.plans.history(sub.id) == before
    assert world.plans.outbox(sub.id) == [entry]


def test_the_queries_refuse_bad_input_at_once(world: World) -> None:
    with pytest.raises(InvalidInput, match="status"):
        world.plans.messages(status="lost")
    with pytest.raises(InvalidInput, match="page_size"):
        world.plans.messages(page_size=0)
    with pytest.raises(InvalidInput, match="page_size"):
        world.plans.messages(page_size=True)
    with pytest.raises(InvalidInput, match="subscription_id"):
        world.plans.messages(subscription_id="")


def test_paging_sees_each_message_once_while_they_change(world: World) -> None:
    world.faults.fail("mailer.send", times=None)  # every send fails for now: all wait
    ids = [
        world.plans.upgrade(f"35{n:02d}", Plan.STANDARD, alias=f"reseller{n}", actor=world.disti).id
        for n in range(5)
    ]
    waiting = [m.id for m in world.plans.messages(status="waiting")]
    assert len(waiting) == 5
    assert [m.id for m in world.plans.messages()] == waiting  # oldest first, every status

    seen = []
    pages = world.plans.messages(status="waiting", page_size=2)
    seen.append(next(pages).id)
    world.faults.clear()
    world.plans.run_due()  # every message is sent while the iteration goes on
    seen += [m.id for m in pages]
    assert len(seen) == len(set(seen))  # none twice
    assert seen[0] == waiting[0]
    assert list(world.plans.messages(status="waiting")) == []
    assert [m.id for m in world.plans.messages(status="sent", page_size=2)] == waiting
    mine = list(world.plans.messages(subscription_id=ids[2]))
    assert [m.subscription_id for m in mine] == [ids[2]]


def test_a_bulk_run_whose_emails_were_refused_says_so(world: World) -> None:
    _refusing(world)
    rows = [UpgradeRow.of(f"35{n:02d}", "standard", f"bulk{n}") for n in range(3)]
    report = BulkUpgrade(world.plans, world.disti, concurrency=2).run(rows)
    assert [r.outcome.value for r in report.results] == ["done"] * 3
    assert report.emails_failed == 3
    assert [r.emails_failed for r in report.results] == [1, 1, 1]


def test_messages_of_one_distributor(world: World) -> None:
    world.reseller("4000", distributor_id="D-200")
    _refusing(world)
    world.plans.upgrade("3500", Plan.STANDARD, alias="first", actor=world.disti)
    world.plans.upgrade("4000", Plan.STANDARD, alias="other", actor=Actor.distributor("D-200"))
    mine = list(world.plans.messages(status="failed", distributor_id="D-100"))
    theirs = list(world.plans.messages(status="failed", distributor_id="D-200"))
    assert [m.to for m in mine] == [("owner@3500.example",)]
    assert [m.to for m in theirs] == [("owner@4000.example",)]
    assert len(list(world.plans.messages(status="failed"))) == 2
    assert world.plans.run_due().messages_failed == 2  # run_due counts the whole store


def test_oldest_first_whatever_offset_the_clock_gave(world: World) -> None:
    east = dt.timezone(dt.timedelta(hours=2))
    west = dt.timezone(dt.timedelta(hours=-5))
    older = OutboxEntry("m-b", "s", MessageKind.WELCOME, ("a@x.example",), {},
                        dt.datetime(2026, 3, 1, 10, 0, tzinfo=east))  # 08:00 UTC  # fmt: skip
    newer = OutboxEntry("m-a", "s", MessageKind.WELCOME, ("a@x.example",), {},
                        dt.datetime(2026, 3, 1, 4, 0, tzinfo=west))  # 09:00 UTC  # fmt: skip
    with world.store.unit_of_work() as uow:
        uow.add_outbox(newer)
        uow.add_outbox(older)
    assert [m.id for m in world.plans.messages()] == ["m-b", "m-a"]
    assert [m.id for m in world.plans.messages(page_size=1)] == ["m-b", "m-a"]
