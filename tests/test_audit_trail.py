"""The audit trail: every stored event says who caused it (actor, idempotency key, reason) and
under which correlation id, the host's or a minted one; errors and log records carry the same
id; over the in-memory store, a SQLite file and PostgreSQL, and read back after a restart."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from reseller_plans import (
    Actor,
    Audit,
    InvalidInput,
    NotFound,
    Plan,
    Timing,
    correlate,
    current_correlation_id,
)
from reseller_plans.domain.events import event_from_dict, event_to_dict
from service_world import World, make_world, world_fixture
from store_kinds import store_fixture

make_store = store_fixture("memory", "sqlite", "postgres")
world = world_fixture("3542", "3543")


def test_a_commands_events_carry_its_actor_key_reason_and_the_hosts_correlation_id(
    world: World,
) -> None:
    with correlate("req-42") as correlation_id:
        assert correlation_id == current_correlation_id() == "req-42"
        sub = world.plans.upgrade(
            "3542",
            Plan.STANDARD,
            alias="acme",
            actor=world.disti,
            idempotency_key="order-7",
            reason="signed the reseller contract",
        )
    assert current_correlation_id() is None  # the block is over
    history = world.plans.history(sub.id)
    names = [e.name for e in history]
    assert names[0] == "Requested"
    assert "Activated" in names
    assert "WelcomeEmailQueued" in names  # the saga's steps too, not only the command's event
    expected = Audit("distributor:D-100", "req-42", "order-7", "signed the reseller contract")
    assert {e.audit for e in history} == {expected}

    world.store.close()
    plans = world.restart()  # read back from the store, not from memory
    assert {e.audit for e in plans.history(sub.id)} == {expected}
    assert {e.event.audit for e in plans.events().events} == {expected}
    assert plans.events().events[0].payload()["audit"] == {
        "actor": "distributor:D-100",
        "correlation_id": "req-42",
        "idempotency_key": "order-7",
        "reason": "signed the reseller contract",
    }


def test_a_call_outside_any_block_mints_one_correlation_id_for_all_it_does(
    world: World,
) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    world.plans.cancel(sub.id, actor=world.disti, reason="the reseller left")
    history = world.plans.history(sub.id)
    upgrade = {e.audit.correlation_id for e in history if e.audit and e.audit.reason is None}
    cancel = [e.audit for e in history if e.audit and e.audit.reason == "the reseller left"]
    assert len(upgrade) == 1
    minted = upgrade.pop()
    assert minted is not None
    assert minted.startswith("cor_")
    assert cancel
    assert {a.correlation_id for a in cancel} != {minted}  # each call its own
    assert all(a.idempotency_key is None for a in cancel)
    assert {a.actor for a in cancel} == {"distributor:D-100"}


def test_a_resellers_purchase_is_recorded_as_the_resellers(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.FREE, alias="acme", actor=Actor.reseller("3542"))
    assert {e.audit.actor for e in world.plans.history(sub.id) if e.audit} == {"reseller:3542"}


def test_due_work_is_the_systems(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    world.plans.change_plan(
        sub.id, Plan.FREE, actor=world.disti, timing=Timing.END_OF_TERM, reason="cheaper"
    )
    scheduled = world.plans.history(sub.id)[-1]
    assert scheduled.name == "PlanChangeScheduled"
    assert scheduled.audit is not None
    assert (scheduled.audit.actor, scheduled.audit.reason) == ("distributor:D-100", "cheaper")
    before = len(world.plans.history(sub.id))

    world.clock.advance(dt.timedelta(days=40))
    with correlate("cron-2026-02-24"):
        world.plans.run_due()
    applied = world.plans.history(sub.id)[before:]
    assert "PlanChanged" in [e.name for e in applied]
    assert {e.audit for e in applied} == {Audit("system", "cron-2026-02-24")}


def test_retry_records_who_asked_and_why(world: World) -> None:
    world.faults.fail("bss.provision_license", times=3)  # the whole retry budget
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    assert sub.sync_status.value == "failed"
    before = len(world.plans.history(sub.id))
    with correlate("ticket-981"):
        sub = world.plans.retry(sub.id, actor=world.disti, reason="the BSS is back")
    assert sub.sync_status.value == "synchronized"
    after = world.plans.history(sub.id)[before:]
    assert after[0].name == "ProvisioningRetried"
    assert {e.audit for e in after} == {
        Audit("distributor:D-100", "ticket-981", None, "the BSS is back")
    }


def test_an_error_carries_the_correlation_id_of_the_call(world: World) -> None:
    with correlate("req-404"), pytest.raises(NotFound) as raised:
        world.plans.cancel("sub_nope", actor=world.disti)
    assert raised.value.correlation_id == "req-404"
    with pytest.raises(NotFound) as minted:
        world.plans.cancel("sub_nope", actor=world.disti)
    assert minted.value.correlation_id is not None
    assert minted.value.correlation_id.startswith("cor_")
    with correlate("req-400"), pytest.raises(InvalidInput) as refused:
        world.plans.upgrade("3542", "platinum", alias="acme", actor=world.disti)
    assert refused.value.correlation_id == "req-400"  # refused before any command ran


def test_the_librarys_log_records_carry_the_correlation_id(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.faults.fail("bss.provision_license", times=1)  # one transient failure is logged
    with caplog.at_level(logging.INFO, logger="reseller_plans"), correlate("req-logs"):
        world.plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    ours = [r for r in caplog.records if r.name.startswith("reseller_plans")]
    assert ours
    assert {getattr(r, "correlation_id", None) for r in ours} == {"req-logs"}


@pytest.mark.parametrize(
    "bad", ["", "has space", "x" * 129, "caf\u00e9", "line\nbreak", 42, b"bytes"]
)
def test_a_malformed_correlation_id_is_refused_before_anything_runs(
    world: World, bad: object
) -> None:
    with pytest.raises(InvalidInput, match="correlation id"), correlate(bad):  # type: ignore[arg-type]
        world.plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    assert world.plans.subscription_of("3542") is None


@pytest.mark.parametrize("bad", [42, ["why"], b"bytes"])
def test_a_reason_that_is_not_text_is_refused_and_nothing_changes(
    world: World, bad: object
) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        world.plans.upgrade(
            "3542",
            Plan.STANDARD,
            alias="acme",
            actor=world.disti,
            reason=bad,  # type: ignore[arg-type]
        )
    assert world.plans.subscription_of("3542") is None
    assert world.plans.events().events == ()


def test_a_reason_over_500_characters_is_refused_and_an_empty_one_is_none(
    world: World,
) -> None:
    with pytest.raises(InvalidInput, match="at most 500 characters, not 2000"):
        world.plans.upgrade(
            "3542", Plan.STANDARD, alias="acme", actor=world.disti, reason="x" * 2000
        )
    assert world.plans.subscription_of("3542") is None
    sub = world.plans.upgrade(
        "3542", Plan.STANDARD, alias="acme", actor=world.disti, reason="x" * 500
    )
    assert {len(e.audit.reason or "") for e in world.plans.history(sub.id) if e.audit} == {500}
    other = world.plans.upgrade("3543", Plan.FREE, alias="beta", actor=world.disti, reason="")
    assert {e.audit.reason for e in world.plans.history(other.id) if e.audit} == {None}


def test_the_audit_survives_the_stores_codec_and_keeps_events_equal() -> None:
    world = make_world()
    world.reseller("3542")
    sub = world.plans.upgrade("3542", Plan.FREE, alias="acme", actor=world.disti)
    for event in world.plans.history(sub.id):
        again = event_from_dict(event_to_dict(event))
        assert again == event
        assert again.audit == event.audit
