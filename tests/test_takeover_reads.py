"""The reads a takeover makes before repeating an order or a platform action: the domain's
decision, ``BSSClient`` against respx and against the emulator over a real socket, the fakes,
and the driver adopting what the BSS shows instead of acting twice."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
import respx

from http_fakes import bss_router, json_response, make_bss, page_body
from reseller_plans import (
    InvalidInput,
    LeaseSettings,
    Plan,
    ResellerPlans,
    StorefrontAlias,
    TransientBackendError,
)
from reseller_plans.bss import BSSWireConfig
from reseller_plans.domain import reconcile
from reseller_plans.domain.errors import OutcomeUnknown
from reseller_plans.domain.reconcile import PlatformStatus, Probe
from reseller_plans.domain.saga import SagaStep
from reseller_plans.domain.subscription import StepAction, SubscriptionStatus
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator
from reseller_plans.testing.fakes import FakeBSS, FakeStorefront
from reseller_plans.testing.faults import SimulatedCrash
from service_world import World, make_world
from test_emulator import bss_for, storefront_for

A = StepAction
LEASES = LeaseSettings(
    lease=dt.timedelta(minutes=5),
    step_deadline=dt.timedelta(minutes=1),
    margin=dt.timedelta(seconds=10),
    busy_timeout=dt.timedelta(milliseconds=20),
)

# -- the domain's decision ----------------------------------------------------------------------


def test_an_order_shows_done_by_a_subscription_no_other_of_the_account_names() -> None:
    found = {"PS-2": PlatformStatus.ACTIVE, "PS-1": PlatformStatus.CANCELLED}
    assert reconcile.order_shown(found, known=()) == "PS-2"
    assert reconcile.order_shown(found, known={"PS-2"}) is None  # an earlier subscription's
    assert reconcile.order_shown({"PS-1": PlatformStatus.CANCELLED}, known=()) is None
    assert reconcile.order_shown({}, known=()) is None
    assert reconcile.order_shown({"PS-9": PlatformStatus.OTHER}, known=()) == "PS-9"
    several = {"PS-10": PlatformStatus.ACTIVE, "PS-9": PlatformStatus.SUSPENDED}
    assert reconcile.order_shown(several, known=()) is None  # which is ours? cannot tell
    assert reconcile.order_shown(several, known={"PS-9"}) == "PS-10"


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (A.CANCEL_ON_PLATFORM, PlatformStatus.CANCELLED),
        (A.SUSPEND_ON_PLATFORM, PlatformStatus.SUSPENDED),
        (A.RESUME_ON_PLATFORM, PlatformStatus.ACTIVE),
    ],
)
def test_a_platform_action_shows_done_only_in_its_target_status(
    action: StepAction, status: PlatformStatus
) -> None:
    step = SagaStep(action, Plan.STANDARD)
    for shown in PlatformStatus:
        assert reconcile.shows_done(step, platform=shown) is (shown is status)


def test_what_a_takeover_reads_depends_on_what_the_subscription_knows(world: World) -> None:
    world.faults.crash("bss.place_plan_order")
    with pytest.raises(SimulatedCrash):
        world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    with world.store.unit_of_work() as uow:
        sub = uow.get("sub_1")
    assert sub is not None
    assert sub.operation is not None
    assert reconcile.probe_of(sub, SagaStep(A.PLACE_ORDER, Plan.STANDARD)) is Probe.ORDER
    # no platform subscription known yet: nothing to read the status of
    assert (
        reconcile.probe_of(sub, SagaStep(A.CANCEL_ON_PLATFORM, Plan.STANDARD, compensation=True))
        is None
    )
    known = attrs.evolve(sub, platform_subscription_id="PS-1")
    assert (
        reconcile.probe_of(known, SagaStep(A.PLACE_ORDER, Plan.STANDARD)) is None
    )  # the order told it
    assert (
        reconcile.probe_of(known, SagaStep(A.CANCEL_ON_PLATFORM, Plan.STANDARD)) is Probe.PLATFORM
    )
    unordered = attrs.evolve(sub, operation=attrs.evolve(sub.operation, product_id=""))
    assert reconcile.probe_of(unordered, SagaStep(A.PLACE_ORDER, Plan.STANDARD)) is None
    assert reconcile.probe_of(sub, SagaStep(A.QUEUE_EMAIL, Plan.STANDARD)) is None


# -- BSSClient over respx -------------------------------------------------------------------------


@pytest.fixture
def router() -> respx.Router:
    return bss_router()


def _row(pid: str, status: str, account: object = 7, product: str = "P-3") -> dict[str, object]:
    return {"id": pid, "status": status, "account": {"id": account}, "productId": product}


def test_platform_status_maps_the_labels_case_insensitively(router: respx.Router) -> None:
    for label, status in [
        ("Active", PlatformStatus.ACTIVE),
        ("SUSPENDED", PlatformStatus.SUSPENDED),
        ("canceled", PlatformStatus.CANCELLED),
        ("PendingCancellation", PlatformStatus.OTHER),
        ("Inactive", PlatformStatus.OTHER),
    ]:
        router.get("/api/subscriptions/S-1").mock(
            return_value=json_response(200, _row("S-1", label))
        )
        assert make_bss(router).platform_status("S-1") is status


def test_platform_subscriptions_of_filters_pages_and_drops_other_accounts_and_products(
    router: respx.Router,
) -> None:
    route = router.get("/api/subscriptions")
    route.side_effect = [
        json_response(200, page_body(
            [_row("S-1", "Cancelled"), _row("S-2", "Active", account=8)],
            index=1, pages=2, next_url="https://bss.test/api/subscriptions?pageIndex=2",
        )),
        json_response(200, page_body(
            [_row("S-3", "Active"), _row("S-4", "Active", product="P-9"),
             {"id": "S-5", "status": "Active", "accountId": "7", "productId": "P-3"}],
            index=2, pages=2, next_url=None,
        )),
    ]  # fmt: skip
    found = make_bss(router).platform_subscriptions_of("7", "P-3")
    assert found == {
        "S-1": PlatformStatus.CANCELLED,
        "S-3": PlatformStatus.ACTIVE,
        "S-5": PlatformStatus.ACTIVE,
    }
    first = parse_qs(urlsplit(str(route.calls[0].request.url)).query)
    assert first["$filter"] == ["accountId eq 7"]


def test_the_subscriptions_filter_is_configurable_and_quotes_text(router: respx.Router) -> None:
    route = router.get("/api/subscriptions").mock(
        return_value=json_response(200, page_body([], index=1, pages=1, next_url=None))
    )
    wire = BSSWireConfig(subscription_filter="billingToId eq {account}")
    assert make_bss(router, wire=wire).platform_subscriptions_of("O'Neil", "P-3") == {}
    query = parse_qs(urlsplit(str(route.calls[0].request.url)).query)
    assert query["$filter"] == ["billingToId eq 'O''Neil'"]


# -- against the emulator, over a real socket -----------------------------------------------------


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo()) as running:
        yield running


def test_the_emulator_shows_an_order_and_each_platform_action(server: EmulatorServer) -> None:
    with bss_for(server) as bss, storefront_for(server) as shop:
        product = bss.get_distributor("100").plan_products[Plan.STANDARD]
        assert bss.platform_subscriptions_of("3542", product) == {}
        order = bss.place_plan_order(
            account_id="3542", product_id=product, alias=StorefrontAlias.parse("techsolutions"),
            billing_cycle="monthly", idempotency_key="o-1",
        )  # fmt: skip
        pid = order.platform_subscription_id or ""
        assert bss.platform_subscriptions_of("3542", product) == {pid: PlatformStatus.ACTIVE}
        assert bss.platform_subscriptions_of("3543", product) == {}
        bought = shop.purchase_plan(
            account_id="3543", product_id=product, alias=StorefrontAlias.parse("other"),
            billing_cycle="monthly", idempotency_key="b-1",
        )  # fmt: skip
        assert list(bss.platform_subscriptions_of("3543", product)) == [
            bought.platform_subscription_id
        ]
        for action, status in [
            ("suspend", PlatformStatus.SUSPENDED),
            ("resume", PlatformStatus.ACTIVE),
            ("cancel", PlatformStatus.CANCELLED),
        ]:
            getattr(bss, f"{action}_subscription")(pid, idempotency_key=f"{action}-1")
            assert bss.platform_status(pid) is status
        assert bss.platform_subscriptions_of("3542", product) == {pid: PlatformStatus.CANCELLED}


# -- the fakes ------------------------------------------------------------------------------------


def test_the_fakes_show_orders_from_both_channels(world: World) -> None:
    bss, shop = FakeBSS(), None
    bss.add_account(world.bss.accounts["3542"])
    shop = FakeStorefront(bss)
    placed = bss.place_plan_order(
        account_id="3542", product_id="P-S", alias=None, billing_cycle="monthly",
        idempotency_key="k",
    )  # fmt: skip
    bought = shop.purchase_plan(
        account_id="3542", product_id="P-F", alias=None, billing_cycle="monthly",
        idempotency_key="k",
    )  # fmt: skip
    assert bss.platform_subscriptions_of("3542", "P-S") == {
        placed.platform_subscription_id: PlatformStatus.ACTIVE
    }
    assert list(bss.platform_subscriptions_of("3542", "P-F")) == [bought.platform_subscription_id]
    bss.cancel_subscription(placed.platform_subscription_id or "", idempotency_key="c")
    assert bss.platform_status(placed.platform_subscription_id or "") is PlatformStatus.CANCELLED


# -- the driver, after a takeover -----------------------------------------------------------------


class DiesAfter:
    """A port whose ``operation`` reaches the backend, then the process dies (SIGKILL)."""

    def __init__(self, inner: object, operation: str) -> None:
        self._inner, self._operation = inner, operation

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != self._operation:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            attr(*args, **kwargs)
            raise SimulatedCrash(f"died just after {name}")

        return call


def _plans(world: World, bss: object | None = None) -> ResellerPlans:
    return ResellerPlans(
        bss=bss or world.bss, storefront=world.storefront,  # type: ignore[arg-type]
        mailer=world.mailer, store=world.store, clock=world.clock,
        new_id=lambda: f"sub_{next(world.ids)}", leases=LEASES,
    )  # fmt: skip


@pytest.fixture
def world() -> World:
    world = make_world()
    world.plans = _plans(world)
    world.reseller("3542")
    return world


def _dying(world: World, operation: str) -> ResellerPlans:
    return _plans(world, DiesAfter(world.bss, operation))


def _die_holding_the_lease(world: World) -> None:
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        assert uow.take_lease("sub_1", "dead", now=now, until=now + LEASES.lease)
    world.clock.advance(LEASES.lease + dt.timedelta(seconds=1))


def test_an_order_the_dead_owner_placed_is_adopted_not_placed_again(world: World) -> None:
    with pytest.raises(SimulatedCrash):
        _dying(world, "place_plan_order").upgrade(
            "3542", Plan.STANDARD, actor=world.disti, alias="techsolutions"
        )
    assert len(world.bss.orders) == 1
    _die_holding_the_lease(world)
    world.plans.run_due()
    sub = world.plans.get("sub_1")
    assert sub.status is SubscriptionStatus.ACTIVE
    assert len(world.bss.orders) == 1  # the takeover read it, and did not order again
    assert world.faults.calls["bss.place_plan_order"] == 1
    assert sub.platform_subscription_id == next(iter(world.bss.subscriptions))
    assert world.check_invariants() == []


def test_an_order_that_did_not_land_is_placed_after_a_takeover(world: World) -> None:
    world.faults.crash("bss.place_plan_order")  # dies before the BSS saw it
    with pytest.raises(SimulatedCrash):
        world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    assert len(world.bss.orders) == 0
    _die_holding_the_lease(world)
    world.plans.run_due()
    assert world.plans.get("sub_1").status is SubscriptionStatus.ACTIVE
    assert len(world.bss.orders) == 1
    assert world.check_invariants() == []


def test_a_read_that_fails_tells_nothing_and_the_order_goes_again_under_its_key(
    world: World,
) -> None:
    with pytest.raises(SimulatedCrash):
        _dying(world, "place_plan_order").upgrade(
            "3542", Plan.STANDARD, actor=world.disti, alias="techsolutions"
        )
    _die_holding_the_lease(world)
    world.faults.fail("bss.platform_subscriptions_of", permanent=True)
    world.plans.run_due()
    assert world.plans.get("sub_1").status is SubscriptionStatus.ACTIVE
    assert world.faults.calls["bss.place_plan_order"] == 2  # repeated, under the same key
    assert len(world.bss.orders) == 1  # which this BSS honours


def test_a_cancellation_the_dead_owner_made_on_the_platform_is_not_made_again(
    world: World,
) -> None:
    world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    with pytest.raises(SimulatedCrash):
        _dying(world, "cancel_subscription").cancel("sub_1", actor=world.disti)
    _die_holding_the_lease(world)
    world.plans.run_due()
    assert world.plans.get("sub_1").status is SubscriptionStatus.CANCELLED
    assert world.faults.calls["bss.cancel_subscription"] == 1
    assert world.faults.calls["bss.platform_status"] == 1
    assert world.check_invariants() == []


class AnswerLost:
    """A BSS whose next order lands but whose answer is lost on the way back."""

    def __init__(self, inner: FakeBSS) -> None:
        self._inner, self.lost = inner, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def place_plan_order(self, **kwargs: Any) -> Any:
        self._inner.place_plan_order(**kwargs)
        if not self.lost:
            self.lost = True
            raise OutcomeUnknown("the connection reset after the order was sent")
        return self._inner.place_plan_order(**kwargs)


def test_an_order_another_order_left_behind_is_not_adopted(world: World) -> None:
    lossy = AnswerLost(world.bss)
    first = _plans(world, lossy).upgrade(
        "3542", Plan.STANDARD, actor=world.disti, alias="techsolutions"
    )
    assert first.status is SubscriptionStatus.FAILED  # it never learnt its order's id
    orphan = next(iter(world.bss.subscriptions))
    with pytest.raises(SimulatedCrash):
        _dying(world, "place_plan_order").upgrade(
            "3542", Plan.STANDARD, actor=world.disti, alias="secondalias", billing_cycle="annual"
        )
    _die_holding_the_lease(world)
    world.plans.run_due()
    second = world.plans.get("sub_2")
    assert second.status is SubscriptionStatus.ACTIVE
    # Two candidates: it could not tell which was its own, so it placed its order again,
    # under its key, and this BSS gave back its own subscription, not the orphan.
    assert second.platform_subscription_id is not None
    assert second.platform_subscription_id != orphan
    assert world.faults.calls["bss.place_plan_order"] == 3


def test_a_bss_that_ignores_the_filter_is_read_until_a_cap_then_tells_nothing(
    router: respx.Router,
) -> None:
    rows = [_row(f"S-{n}", "Active", account=9) for n in range(100)]
    route = router.get("/api/subscriptions")
    route.side_effect = lambda request: json_response(
        200, page_body(rows, index=1, pages=0, next_url=f"{request.url}&again=1")
    )  # every page offers another
    with pytest.raises(TransientBackendError, match="ignore \\$filter"):
        make_bss(router).platform_subscriptions_of("7", "P-3")
    assert route.call_count == 11  # the page past 1,000 rows, and it gives up: never forever


def test_a_malformed_row_of_another_account_is_dropped_unread(router: respx.Router) -> None:
    rows = [{"id": "S-8", "account": {"id": 8}, "productId": "P-3"}, _row("S-1", "Active")]
    router.get("/api/subscriptions").mock(
        return_value=json_response(200, page_body(rows, index=1, pages=1, next_url=None))
    )  # S-8 has no status: not ours, so it does not matter
    assert make_bss(router).platform_subscriptions_of("7", "P-3") == {"S-1": PlatformStatus.ACTIVE}


class OldBSS:
    """A host's BSS adapter written before the takeover reads."""

    def __init__(self, inner: FakeBSS) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("platform_status", "platform_subscriptions_of"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_an_adapter_lacking_a_port_method_is_refused_at_construction(world: World) -> None:
    with pytest.raises(InvalidInput, match="lacks platform_status, platform_subscriptions_of"):
        _plans(world, OldBSS(world.bss))


def test_a_store_lacking_a_unit_of_work_method_is_refused_at_construction(world: World) -> None:
    class OldUnitOfWork:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            if name in ("count_outbox", "record_events"):
                raise AttributeError(name)
            return getattr(self._inner, name)

    class OldStore:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        @contextlib.contextmanager
        def unit_of_work(self) -> Iterator[Any]:
            with self._inner.unit_of_work() as uow:
                yield OldUnitOfWork(uow)

        def close(self) -> None:
            self._inner.close()

    with pytest.raises(InvalidInput, match="unit of work lacks count_outbox, record_events"):
        ResellerPlans(
            bss=world.bss, storefront=world.storefront, mailer=world.mailer,
            store=OldStore(world.store),  # type: ignore[arg-type]
        )  # fmt: skip
