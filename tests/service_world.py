"""A small world of in-memory ports around a ``ResellerPlans``, for the service tests."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from reseller_plans import Actor, Plan, ResellerAccount
from reseller_plans.domain.accounts import DistributorProfile
from reseller_plans.domain.subscription import SubscriptionStatus
from reseller_plans.ports import Store
from reseller_plans.service import ResellerPlans
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.fakes import (
    FakeBSS,
    FakeClock,
    FakeStorefront,
    InMemoryMailer,
    sample_distributor,
)
from reseller_plans.testing.faults import Faults

START = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


@attrs.define
class World:
    faults: Faults
    clock: FakeClock
    bss: FakeBSS
    storefront: FakeStorefront
    mailer: InMemoryMailer
    store: Store
    plans: ResellerPlans
    make_store: Callable[[], Store]
    ids: itertools.count[int]

    @property
    def disti(self) -> Actor:
        return Actor.distributor("D-100")

    def restart(self) -> ResellerPlans:
        """Discard the service (and reopen the store) as after a crash."""
        self.store = self.make_store()
        self.plans = build_plans(self)
        return self.plans

    def reseller(
        self, account_id: str = "3542", distributor_id: str = "D-100", **kw: object
    ) -> ResellerAccount:
        values: dict[str, object] = {
            "id": account_id,
            "distributor_id": distributor_id,
            "name": f"Reseller {account_id}",
            "email": f"owner@{account_id}.example",
        }
        values.update(kw)
        return self.bss.add_account(ResellerAccount(**values))  # type: ignore[arg-type]

    def check_invariants(self) -> list[str]:
        """Every violation of the service's guarantees, as readable lines."""
        problems: list[str] = []
        with self.store.unit_of_work() as uow:
            for account_id in self.bss.accounts:
                live = uow.live_subscription_of(account_id)
                subs = uow.subscriptions_of(account_id)
                license_ = self.bss.licenses.get(account_id)
                storefront = self.storefront.storefronts.get(account_id)
                for sub in subs:
                    if sub.operation is not None and sub.operation.sync.value == "in_progress":
                        problems.append(
                            f"{sub.id} stuck with {sub.operation.kind.value} in progress"
                        )
                if live is not None and live.status in (
                    SubscriptionStatus.ACTIVE,
                    SubscriptionStatus.SUSPENDED,
                ):
                    if license_ is not live.plan:
                        problems.append(f"{account_id}: license {license_} for a {live.plan} plan")
                    if storefront is None or storefront.plan is not live.plan:
                        problems.append(f"{account_id}: storefront {storefront} for {live.plan}")
                    elif storefront.online is (live.status is SubscriptionStatus.SUSPENDED):
                        problems.append(f"{account_id}: storefront online={storefront.online}")
                elif live is None:
                    if license_ is not None:
                        problems.append(f"{account_id}: Basic but licensed {license_}")
                    if storefront is not None:
                        problems.append(f"{account_id}: Basic but has a storefront")
                for sub in subs:
                    activated = any(e.name == "Activated" for e in uow.history(sub.id))
                    welcomes = [e for e in uow.outbox_of(sub.id) if e.kind.value == "welcome"]
                    if activated and not any(e.sent_at for e in welcomes):
                        problems.append(f"{sub.id}: activated, no welcome email sent")
        ids = [m.message_id for m in self.mailer.sent]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            problems.append(f"messages sent twice: {sorted(duplicates)}")
        return problems


def build_plans(world: World) -> ResellerPlans:
    return ResellerPlans(
        bss=world.bss,
        storefront=world.storefront,
        mailer=world.mailer,
        store=world.store,
        clock=world.clock,
        new_id=lambda: f"sub_{next(world.ids)}",
    )


def make_world(
    make_store: Callable[[], Store] | None = None, distributor: DistributorProfile | None = None
) -> World:
    """The world; ``make_store`` opens the store (again after a restart). By default one
    in-memory store outlives every restart, as a database would."""
    if make_store is None:
        shared = InMemoryStore()
        make_store = lambda: shared  # noqa: E731
    faults = Faults()
    clock = FakeClock(START)
    bss = FakeBSS(faults)
    bss.add_distributor(distributor or sample_distributor("D-100"))
    bss.add_distributor(sample_distributor("D-200", name="Other Disti"))
    storefront = FakeStorefront(bss, faults)
    mailer = InMemoryMailer(faults)
    store = make_store()
    world = World(
        faults, clock, bss, storefront, mailer, store, None, make_store, itertools.count(1)
    )  # type: ignore[arg-type]
    world.plans = build_plans(world)
    return world


def world_fixture(*account_ids: str) -> Any:
    """A module's ``world`` fixture: the world over the module's ``make_store`` fixture with
    these resellers of D-100, its store closed afterwards: ``world = world_fixture("3542")``."""

    @pytest.fixture
    def world(make_store: Callable[[], Store]) -> Iterator[World]:
        world = make_world(make_store)
        for account_id in account_ids:
            world.reseller(account_id)
        yield world
        world.store.close()

    return world


STANDARD, FREE, BASIC = Plan.STANDARD, Plan.FREE, Plan.BASIC
