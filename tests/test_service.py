"""ResellerPlans end to end over the in-memory ports: both channels, plan changes, cancellation,
failures rolled back, suspension, retries and the outbox."""

from __future__ import annotations

import datetime as dt

import pytest

from reseller_plans import (
    Actor,
    AliasTaken,
    FailureCode,
    IllegalTransition,
    InvalidAlias,
    InvalidInput,
    NotEligible,
    NotFound,
    Plan,
    Timing,
)
from reseller_plans.domain.accounts import ServiceManagerState
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.subscription import Channel, SubscriptionStatus, SyncStatus
from reseller_plans.service import ResellerPlans
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.fakes import sample_distributor
from service_world import World, make_world


@pytest.fixture
def world() -> World:
    w = make_world()
    w.reseller("3542")
    w.reseller("3600")
    w.reseller("9000", distributor_id="D-200")
    return w


def kinds(world: World, address: str) -> list[MessageKind]:
    return [m.kind for m in world.mailer.to(address)]


def test_distributor_upgrade_in_the_bss_provisions_license_storefront_and_welcome(
    world: World,
) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="TechSolutions", actor=world.disti)

    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.channel is Channel.BSS
    assert sub.sync_status is SyncStatus.SYNCHRONIZED
    assert world.plans.plan_of("3542") is Plan.STANDARD
    assert world.bss.licenses["3542"] is Plan.STANDARD
    assert world.storefront.storefronts["3542"].alias == "techsolutions"
    assert len(world.bss.orders) == 1
    assert sub.platform_subscription_id in world.bss.subscriptions
    (welcome,) = world.mailer.to("owner@3542.example")
    assert welcome.kind is MessageKind.WELCOME
    assert "https://cloud.disti.example/techsolutions" in welcome.text
    names = [e.name for e in world.plans.history(sub.id)]
    assert names == [
        "Requested",
        "LicenseProvisioned",
        "StorefrontActivated",
        "WelcomeEmailQueued",
        "Activated",
    ]
    assert world.check_invariants() == []


def test_reseller_buys_its_own_plan_in_the_storefront(world: World) -> None:
    sub = world.plans.upgrade("3542", "free", alias="techsol", actor=Actor.reseller("3542"))

    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.channel is Channel.STOREFRONT
    assert len(world.storefront.purchases) == 1
    assert world.plans.plan_of("3542") is Plan.FREE
    assert kinds(world, "owner@3542.example") == [MessageKind.WELCOME]
    assert world.check_invariants() == []


def test_free_to_standard_is_immediate_and_mails_the_storefront_url(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    upgraded = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti)

    assert upgraded.id == sub.id
    assert upgraded.plan is Plan.STANDARD
    assert world.bss.licenses["3542"] is Plan.STANDARD
    assert world.storefront.storefronts["3542"].plan is Plan.STANDARD
    last = world.mailer.to("owner@3542.example")[-1]
    assert last.kind is MessageKind.PLAN_UPGRADED
    assert "https://cloud.disti.example/techsol" in last.text
    assert world.check_invariants() == []


def test_standard_to_free_waits_for_the_end_of_the_term(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    scheduled = world.plans.change_plan(sub.id, Plan.FREE, actor=world.disti)

    assert scheduled.plan is Plan.STANDARD
    assert scheduled.pending_change is not None
    assert scheduled.pending_change.effective_at == sub.term.end
    assert world.plans.run_due(sub.term.end - dt.timedelta(seconds=1)).subscriptions == 0

    world.clock.set(sub.term.end)
    report = world.plans.run_due()

    after = world.plans.get(sub.id)
    assert after.plan is Plan.FREE
    assert after.term.start == sub.term.end  # the term also renewed
    assert report.renewals == 1
    assert world.bss.licenses["3542"] is Plan.FREE
    assert kinds(world, "owner@3542.example")[-2:] == [
        MessageKind.PLAN_CHANGE_SCHEDULED,
        MessageKind.PLAN_CHANGED,
    ]
    assert world.check_invariants() == []


def test_immediate_downgrade_on_request(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    after = world.plans.change_plan(sub.id, Plan.FREE, actor=world.disti, timing=Timing.IMMEDIATE)
    assert after.plan is Plan.FREE
    assert world.check_invariants() == []


def test_cancel_reverts_to_basic_and_holds_the_alias_for_its_reseller(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    cancelled = world.plans.cancel(sub.id, actor=Actor.reseller("3542"))

    assert cancelled.status is SubscriptionStatus.CANCELLED
    assert world.plans.plan_of("3542") is Plan.BASIC
    assert "3542" not in world.bss.licenses
    assert "3542" not in world.storefront.storefronts
    assert world.bss.subscriptions[sub.platform_subscription_id or ""] == "cancelled"
    assert kinds(world, "owner@3542.example")[-1] is MessageKind.CANCELLED
    assert [e.name for e in world.plans.history(sub.id)][-2:] == ["Cancelled", "RevertedToBasic"]

    with pytest.raises(AliasTaken):
        world.plans.upgrade("3600", Plan.FREE, alias="techsol", actor=world.disti)
    check = world.plans.check("3600", Plan.FREE, actor=world.disti, alias="techsol")
    assert FailureCode.ALIAS_TAKEN in check.codes

    world.clock.advance(dt.timedelta(days=31))
    assert world.plans.run_due().aliases_released == 1
    other = world.plans.upgrade("3600", Plan.FREE, alias="techsol", actor=world.disti)
    assert other.status is SubscriptionStatus.ACTIVE
    assert world.check_invariants() == []


def test_the_same_reseller_gets_its_held_alias_back_within_the_hold(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    world.plans.cancel(sub.id, actor=world.disti)
    again = world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    assert again.status is SubscriptionStatus.ACTIVE
    assert again.id != sub.id


def test_cancellation_at_term_end_can_be_withdrawn(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    scheduled = world.plans.cancel(sub.id, actor=world.disti, timing=Timing.END_OF_TERM)
    assert scheduled.pending_change is not None
    withdrawn = world.plans.withdraw_change(sub.id, actor=Actor.reseller("3542"))
    assert withdrawn.pending_change is None
    assert kinds(world, "owner@3542.example")[-1] is MessageKind.CANCELLATION_WITHDRAWN
    world.clock.set(sub.term.end)
    world.plans.run_due()
    assert world.plans.get(sub.id).status is SubscriptionStatus.ACTIVE


def test_scheduled_cancellation_applies_at_term_end(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    world.plans.cancel(sub.id, actor=world.disti, timing=Timing.END_OF_TERM)
    world.clock.set(sub.term.end)
    world.plans.run_due()
    assert world.plans.get(sub.id).status is SubscriptionStatus.CANCELLED
    assert world.plans.plan_of("3542") is Plan.BASIC
    assert world.check_invariants() == []


def test_term_end_without_auto_renew_expires_back_to_basic(world: World) -> None:
    sub = world.plans.upgrade(
        "3542", Plan.FREE, alias="techsol", actor=world.disti, auto_renew=False
    )
    world.clock.set(sub.term.end + dt.timedelta(hours=1))
    world.plans.run_due()
    assert world.plans.get(sub.id).status is SubscriptionStatus.CANCELLED
    assert "Expired" in [e.name for e in world.plans.history(sub.id)]
    assert world.check_invariants() == []


def test_auto_renew_renews_every_term_that_passed(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    world.clock.advance(dt.timedelta(days=100))
    report = world.plans.run_due()
    assert report.renewals == 3
    assert world.plans.get(sub.id).term.end > world.clock.now()


def test_suspend_and_resume_take_the_storefront_offline_and_back(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    suspended = world.plans.suspend(sub.id, actor=world.disti, reason="non-payment")
    assert suspended.status is SubscriptionStatus.SUSPENDED
    assert world.storefront.storefronts["3542"].online is False
    assert world.bss.subscriptions[sub.platform_subscription_id or ""] == "suspended"
    assert "non-payment" in world.mailer.to("owner@3542.example")[-1].text
    resumed = world.plans.resume(sub.id, actor=world.disti)
    assert resumed.status is SubscriptionStatus.ACTIVE
    assert world.storefront.storefronts["3542"].online is True
    assert world.check_invariants() == []


def test_not_eligible_reports_every_failure_and_changes_nothing() -> None:
    world = make_world(
        distributor=sample_distributor(
            "D-100", active_addons=frozenset(), service_manager=ServiceManagerState.INACTIVE
        )
    )
    world.reseller("3542", reselling_enabled=False)
    with pytest.raises(NotEligible) as caught:
        world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    assert caught.value.report.codes == {
        FailureCode.ADDON_INACTIVE,
        FailureCode.SERVICE_MANAGER_INACTIVE,
        FailureCode.RESELLING_DISABLED,
    }
    assert world.bss.orders == {}
    assert world.plans.subscription_of("3542") is None


def test_bad_alias_and_bad_plan_are_refused_before_any_call(world: World) -> None:
    with pytest.raises(InvalidAlias) as caught:
        world.plans.upgrade("3542", Plan.STANDARD, alias="-bad-", actor=world.disti)
    assert caught.value.rule == "must_start_with_letter"
    with pytest.raises(InvalidAlias):
        world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti)
    with pytest.raises(InvalidInput):
        world.plans.upgrade("3542", "gold", alias="techsol", actor=world.disti)
    with pytest.raises(InvalidInput):
        world.plans.upgrade("3542", Plan.BASIC, alias="techsol", actor=world.disti)
    assert world.faults.calls["bss.place_plan_order"] == 0


def test_a_second_upgrade_while_one_is_live_is_refused(world: World) -> None:
    world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    with pytest.raises(NotEligible) as caught:
        world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    assert FailureCode.ILLEGAL_MOVE in caught.value.report.codes


def test_permanent_failure_is_rolled_back_and_reported_to_staff(world: World) -> None:
    world.faults.fail("storefront.activate_storefront", permanent=True)
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)

    assert sub.status is SubscriptionStatus.FAILED
    assert sub.failure_reason
    assert "activate_storefront" in sub.failure_reason
    assert world.plans.plan_of("3542") is Plan.BASIC
    assert "3542" not in world.bss.licenses
    assert world.bss.subscriptions[sub.platform_subscription_id or ""] == "cancelled"
    assert "techsol" not in world.storefront.aliases
    (staff,) = world.mailer.to("staff@disti.example")
    assert staff.kind is MessageKind.PROVISIONING_FAILED
    assert world.mailer.to("owner@3542.example") == []
    # the alias is free again
    assert world.plans.upgrade("3600", Plan.FREE, alias="techsol", actor=world.disti).status is (
        SubscriptionStatus.ACTIVE
    )
    assert world.check_invariants() == []


def test_transient_failures_wait_for_retry_then_complete(world: World) -> None:
    world.faults.fail("bss.provision_license", times=3)
    sub = world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    assert sub.status is SubscriptionStatus.PENDING
    assert sub.sync_status is SyncStatus.FAILED
    with pytest.raises(IllegalTransition):
        world.plans.suspend(sub.id, actor=world.disti)
    retried = world.plans.retry(sub.id, actor=world.disti)
    assert retried.status is SubscriptionStatus.ACTIVE
    assert world.check_invariants() == []


def test_transient_failures_within_the_budget_are_invisible(world: World) -> None:
    world.faults.fail("bss.provision_license", times=2)
    sub = world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    assert sub.status is SubscriptionStatus.ACTIVE


def test_cancel_is_allowed_when_provisioning_failed(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    world.faults.fail("storefront.suspend_storefront", times=3)
    stuck = world.plans.suspend(sub.id, actor=world.disti)
    assert stuck.sync_status is SyncStatus.FAILED
    cancelled = world.plans.cancel(sub.id, actor=world.disti)
    assert cancelled.status is SubscriptionStatus.CANCELLED
    assert world.check_invariants() == []


def test_outbox_keeps_a_message_the_mailer_could_not_send(world: World) -> None:
    world.faults.fail("mailer.send", times=1)
    sub = world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    (entry,) = world.plans.outbox(sub.id)
    assert entry.sent_at is None
    assert entry.attempts == 1
    assert world.plans.run_due().emails_sent == 1
    assert [m.kind for m in world.mailer.sent] == [MessageKind.WELCOME]
    assert world.plans.outbox(sub.id)[0].sent_at is not None


def test_a_mail_server_refusing_for_good_is_recorded_not_retried(world: World) -> None:
    world.faults.fail("mailer.send", times=1, permanent=True)
    sub = world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    (entry,) = world.plans.outbox(sub.id)
    assert entry.failed_permanently
    assert world.plans.run_due().emails_sent == 0


def test_unknown_subscription_and_account_are_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.plans.get("sub_nope")
    with pytest.raises(NotFound):
        world.plans.history("sub_nope")
    with pytest.raises(NotFound):
        world.plans.upgrade("nobody", Plan.FREE, alias="techsol", actor=world.disti)


def test_service_refuses_nonsense_configuration(world: World) -> None:
    with pytest.raises(InvalidInput):
        ResellerPlans(
            bss=world.bss, storefront=world.storefront, mailer=world.mailer,
            store=InMemoryStore(), retry_budget=0,
        )  # fmt: skip
    with pytest.raises(InvalidInput):
        ResellerPlans(
            bss=world.bss, storefront=world.storefront, mailer=world.mailer,
            store=InMemoryStore(), alias_hold=dt.timedelta(days=-1),
        )  # fmt: skip
    assert "ResellerPlans" in repr(world.plans)


def test_upgrading_to_free_from_standard_points_to_change_plan(world: World) -> None:
    world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    with pytest.raises(IllegalTransition, match="change_plan"):
        world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)


def test_a_rolled_back_upgrade_is_tried_afresh_with_the_same_key(world: World) -> None:
    world.faults.fail("storefront.activate_storefront", permanent=True)
    first = world.plans.upgrade(
        "3542", Plan.STANDARD, alias="techsol", actor=world.disti, idempotency_key="k"
    )
    again = world.plans.upgrade(
        "3542", Plan.STANDARD, alias="techsol", actor=world.disti, idempotency_key="k"
    )
    assert first.status is SubscriptionStatus.FAILED
    assert again.status is SubscriptionStatus.ACTIVE
    assert world.plans.find_by_key("k", actor=world.disti) == again


def test_free_to_standard_keeps_the_alias(world: World) -> None:
    world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    with pytest.raises(IllegalTransition, match="keeps its alias"):
        world.plans.upgrade("3542", Plan.STANDARD, alias="other", actor=world.disti)


def test_check_says_when_an_upgrade_is_under_way(world: World) -> None:
    world.faults.fail("bss.provision_license", times=3)
    world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=world.disti)
    report = world.plans.check("3542", Plan.STANDARD, actor=world.disti)
    assert FailureCode.UPGRADE_UNDER_WAY in report.codes
