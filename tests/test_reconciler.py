"""The reconciler and takeovers: a call that lands after its lease changed hands is found and
undone by ``run_due``, and the step a dead owner was in counts as maybe done.

In one process, over the in-memory ports; a late call is staged by hand, the way a process
frozen past its lease (SIGSTOP, a long GC pause) would make it. The same over real processes is
in the multi-process tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from reseller_plans import InvalidInput, LeaseSettings, Plan, Repaired, ResellerPlans
from reseller_plans.domain import saga
from reseller_plans.domain.reconcile import StorefrontStatus, repairs
from reseller_plans.domain.subscription import OperationKind, StepAction, SubscriptionStatus
from reseller_plans.service.leases import STALE_CALL, TAKEN_OVER
from reseller_plans.testing.fakes import StorefrontState
from reseller_plans.testing.faults import SimulatedCrash
from service_world import World, make_world

LEASES = LeaseSettings(
    lease=dt.timedelta(minutes=5),
    step_deadline=dt.timedelta(minutes=1),
    margin=dt.timedelta(seconds=10),
    busy_timeout=dt.timedelta(milliseconds=20),
)
PAST_LEASE = LEASES.lease + dt.timedelta(seconds=1)
A = StepAction


class LateStorefront:
    """The world's Storefront, except that the first storefront activation runs ``interlude``
    before it lands: the caller froze in the middle of the call while others went on."""

    def __init__(self, world: World, interlude: Callable[[], None]) -> None:
        self._inner = world.storefront
        self._interlude: Callable[[], None] | None = interlude

    def activate_storefront(self, *args: Any, **kwargs: Any) -> str:
        if self._interlude is not None:
            interlude, self._interlude = self._interlude, None
            interlude()
        return self._inner.activate_storefront(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _plans(world: World, storefront: object | None = None) -> ResellerPlans:
    return ResellerPlans(
        bss=world.bss,
        storefront=storefront or world.storefront,  # type: ignore[arg-type]
        mailer=world.mailer,
        store=world.store,
        clock=world.clock,
        new_id=lambda: f"sub_{next(world.ids)}",
        leases=LEASES,
    )


@pytest.fixture
def world() -> World:
    world = make_world()
    world.plans = _plans(world)
    world.reseller("3542")
    return world


def _due_requests(world: World, at: dt.datetime) -> list[tuple[str, str]]:
    with world.store.unit_of_work() as uow:
        return uow.due_reconciliations(at, 10)


# --- the domain's decision --------------------------------------------------------------------


def test_repairs_undo_only_what_the_accounts_subscriptions_do_not_allow(world: World) -> None:
    live = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    assert live.status is SubscriptionStatus.ACTIVE
    suspended = world.plans.suspend(live.id, actor=world.disti)
    on, off, none = StorefrontStatus.LIVE, StorefrontStatus.SUSPENDED, StorefrontStatus.NONE

    assert repairs(None, on, Plan.STANDARD) == (A.DEACTIVATE_STOREFRONT, A.REVOKE_LICENSE)
    assert repairs(None, off, Plan.BASIC) == (A.DEACTIVATE_STOREFRONT,)
    assert repairs(None, none, Plan.FREE) == (A.REVOKE_LICENSE,)
    assert repairs(None, none, Plan.BASIC) == ()
    assert repairs(live, on, Plan.STANDARD) == ()
    assert repairs(live, none, Plan.BASIC) == ()  # never provisions: that is the saga's
    assert repairs(suspended, on, Plan.STANDARD) == (A.SUSPEND_STOREFRONT,)
    assert repairs(suspended, off, Plan.STANDARD) == ()
    under_way = saga.start(live, OperationKind.PLAN_CHANGE, plan=Plan.FREE)
    assert repairs(under_way, on, Plan.BASIC) is None  # its saga decides: wait


# --- a late call after a cancellation ---------------------------------------------------------


def test_a_storefront_activation_landing_after_a_cancellation_is_undone_by_run_due(
    world: World,
) -> None:
    host = world.plans
    sid = "sub_1"

    def others_go_on() -> None:
        # The worker froze past its lease: a scheduler takes over and finishes, then the
        # host cancels. Only then does the frozen call land.
        world.clock.advance(PAST_LEASE)
        report = host.run_due()
        assert report.subscriptions == 1
        assert host.get(sid).status is SubscriptionStatus.ACTIVE
        assert host.cancel(sid, actor=world.disti).status is SubscriptionStatus.CANCELLED
        assert "3542" not in world.storefront.storefronts

    worker = _plans(world, LateStorefront(world, others_go_on))
    worker.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")

    # The late activation landed: a live storefront for a cancelled subscription...
    assert world.storefront.storefronts["3542"].online
    assert host.get(sid).status is SubscriptionStatus.CANCELLED
    # ...its outcome was refused, and the worker asked for a reconciliation at once.
    assert (sid, STALE_CALL) in _due_requests(world, world.clock.now())

    report = host.run_due()
    assert report.reconciled == 1
    assert report.repaired == (Repaired(sid, "3542", (A.DEACTIVATE_STOREFRONT,)),)
    assert "3542" not in world.storefront.storefronts
    last = host.history(sid)[-1]
    assert last.name == "Reconciled"
    assert (last.repairs, last.reason) == ("deactivate_storefront", STALE_CALL)  # type: ignore[attr-defined]
    assert world.check_invariants() == []
    # The takeover's own request (a look once the frozen call would have ended) was merged
    # into the earlier one: a subscription has one request, the earliest.
    assert _due_requests(world, world.clock.now() + 2 * PAST_LEASE) == []


def test_a_takeover_asks_for_a_reconciliation_once_the_last_owners_call_would_have_ended(
    world: World,
) -> None:
    world.faults.crash("storefront.activate_storefront")
    with pytest.raises(SimulatedCrash):
        world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    taken = world.clock.now()
    with world.store.unit_of_work() as uow:  # a process that died holding the lease
        assert uow.take_lease("sub_1", "dead", now=taken, until=taken + LEASES.lease)
    world.clock.advance(PAST_LEASE)
    report = world.plans.run_due()
    assert world.plans.get("sub_1").status is SubscriptionStatus.ACTIVE
    assert report.reconciled == 0  # not yet: the dead owner's call could still land
    requests = _due_requests(world, world.clock.now() + LEASES.lease)
    assert requests == [("sub_1", TAKEN_OVER)]
    world.clock.advance(PAST_LEASE)
    assert world.plans.run_due().reconciled == 1
    assert world.check_invariants() == []


# --- the step a dead owner was in counts as maybe done -----------------------------------------


@pytest.mark.parametrize("taken_over", [False, True])
def test_after_a_takeover_a_failed_step_is_undone_too(world: World, taken_over: bool) -> None:
    world.faults.crash("storefront.activate_storefront")
    with pytest.raises(SimulatedCrash):
        world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    if taken_over:  # the crashed process never gave its lease back
        now = world.clock.now()
        with world.store.unit_of_work() as uow:
            assert uow.take_lease("sub_1", "dead", now=now, until=now + LEASES.lease)
        world.clock.advance(PAST_LEASE)
    world.faults.fail("storefront.activate_storefront", permanent=True)
    world.plans.run_due()
    sub = world.plans.get("sub_1")
    assert sub.status is SubscriptionStatus.FAILED
    # Only after a takeover may the dead owner's activation have landed: then it is undone.
    assert world.faults.calls["storefront.deactivate_storefront"] == (1 if taken_over else 0)
    assert world.check_invariants() == []


# --- requests that wait -----------------------------------------------------------------------


def test_a_reconciliation_waits_while_its_subscription_is_busy_or_being_provisioned(
    world: World,
) -> None:
    world.faults.fail("storefront.activate_storefront", times=None)
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    assert sub.operation is not None  # waits for a retry: its saga decides
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        uow.request_reconciliation(sub.id, at=now, reason="test")
    report = world.plans.run_due()
    assert report.reconciled == 0
    assert _due_requests(world, now) == []  # put off by a minute
    world.faults.clear()
    assert world.plans.retry(sub.id, actor=world.disti).status is SubscriptionStatus.ACTIVE
    world.clock.advance(dt.timedelta(minutes=2))
    with world.store.unit_of_work() as uow:  # now another driver holds it
        later = world.clock.now()
        assert uow.take_lease(sub.id, "other", now=later, until=later + LEASES.lease)
    assert world.plans.run_due().reconciled == 0
    assert _due_requests(world, world.clock.now()) == [(sub.id, "test")]  # still due


def test_a_reconciliation_leaves_a_taken_over_lease_of_a_saga_under_way_to_the_saga(
    world: World,
) -> None:
    # The reconciler would otherwise take the dead owner's lease and give it back cleanly,
    # and the saga's driver would no longer know the step was in doubt.
    world.faults.crash("storefront.activate_storefront")
    with pytest.raises(SimulatedCrash):
        world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        assert uow.take_lease("sub_1", "dead", now=now, until=now + LEASES.lease)
        uow.request_reconciliation("sub_1", at=now, reason="test")
    world.clock.advance(PAST_LEASE)
    reconciler = world.plans._parts.scheduler.reconciler  # first, before the saga resumes
    assert reconciler.run(world.clock.now()).made == 0
    world.faults.fail("storefront.activate_storefront", permanent=True)
    world.plans.run_due()
    assert world.faults.calls["storefront.deactivate_storefront"] == 1  # still in doubt


def test_a_new_subscription_during_the_reads_stops_the_repairs(world: World) -> None:
    first = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    world.plans.cancel(first.id, actor=world.disti)
    # Late calls landed: a storefront and a license for the cancelled subscription.
    world.storefront.storefronts["3542"] = StorefrontState("techsolutions", Plan.STANDARD, True)
    world.bss.licenses["3542"] = Plan.STANDARD
    inner = world.storefront

    class Subscribing(LateStorefront):
        def storefront_status(self, account_id: str) -> StorefrontStatus:
            status = inner.storefront_status(account_id)
            world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
            return status

    plans = _plans(world, Subscribing(world, lambda: None))
    with world.store.unit_of_work() as uow:
        uow.request_reconciliation(first.id, at=world.clock.now(), reason="test")
    report = plans.run_due()
    assert (report.reconciled, report.repaired) == (0, ())  # looked again later, undid nothing
    assert world.check_invariants() == []
    world.clock.advance(dt.timedelta(minutes=2))
    assert world.plans.run_due().repaired == ()
    assert world.check_invariants() == []


def test_a_reconciliation_that_raises_is_reported_as_a_failure(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    world.plans.cancel(sub.id, actor=world.disti)
    with world.store.unit_of_work() as uow:
        uow.request_reconciliation(sub.id, at=world.clock.now(), reason="test")
    world.faults.fail("bss.licensed_plan", permanent=True)
    report = world.plans.run_due()
    assert [f.subscription_id for f in report.failures] == [sub.id]
    assert report.failures[0].error.startswith("reconciliation: PermanentBackendError")
    assert report.failures[0].retry_at == world.clock.now() + dt.timedelta(minutes=1)


def test_a_reconciliation_whose_backend_fails_is_kept_for_later(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    world.plans.suspend(sub.id, actor=world.disti)
    world.storefront.storefronts["3542"].online = True  # a late resume landed
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        uow.request_reconciliation(sub.id, at=now, reason="test")
    world.faults.fail("storefront.storefront_status")
    assert world.plans.run_due().reconciled == 0
    assert world.storefront.storefronts["3542"].online  # nothing undone yet
    world.clock.advance(dt.timedelta(minutes=2))
    report = world.plans.run_due()
    assert report.repaired == (Repaired(sub.id, "3542", (A.SUSPEND_STOREFRONT,)),)
    assert world.storefront.storefronts["3542"].online is False
    assert world.check_invariants() == []


# --- construction ---------------------------------------------------------------------------


class _SlowAdapter:
    """An adapter whose one call may take ``deadline`` seconds."""

    def __init__(self, inner: object, deadline: float) -> None:
        self._inner, self.deadline = inner, deadline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("port", ["bss", "storefront"])
def test_an_adapter_whose_calls_outlast_a_step_is_refused(world: World, port: str) -> None:
    slow = _SlowAdapter(getattr(world, port), deadline=61)
    ports = {"bss": world.bss, "storefront": world.storefront, port: slow}
    with pytest.raises(InvalidInput, match=rf"the {port} adapter's calls may take up to 61 s"):
        ResellerPlans(**ports, mailer=world.mailer, store=world.store, leases=LEASES)  # type: ignore[arg-type]
    fits = {**ports, port: _SlowAdapter(getattr(world, port), deadline=60)}
    ResellerPlans(**fits, mailer=world.mailer, store=world.store, leases=LEASES)  # type: ignore[arg-type]


@pytest.mark.parametrize("deadline", [float("nan"), -5, 0, "45", True])
def test_an_adapter_deadline_that_is_not_positive_seconds_is_refused(
    world: World, deadline: object
) -> None:
    slow = _SlowAdapter(world.storefront, deadline=deadline)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="deadline must be positive seconds"):
        ResellerPlans(bss=world.bss, storefront=slow, mailer=world.mailer, store=world.store)  # type: ignore[arg-type]


def test_an_adapter_deadline_may_be_a_timedelta(world: World) -> None:
    slow = _SlowAdapter(world.storefront, deadline=dt.timedelta(minutes=3))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="up to 180 s"):
        ResellerPlans(bss=world.bss, storefront=slow, mailer=world.mailer, store=world.store)  # type: ignore[arg-type]
