"""Stateful in-memory implementations of every port, with scriptable faults.

They keep honest state (orders, licenses, storefronts, aliases, sent mail), enforce uniqueness,
raise ``NotFound`` for what does not exist, and dedupe writes by idempotency key, so tests of the
service see what a real backend would do. Each operation first consults the shared ``Faults``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping

import attrs

from reseller_plans.domain.accounts import (
    STANDARD_EDITION_RESELLERS_ADDON,
    DistributorProfile,
    Edition,
    ResellerAccount,
)
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import AliasTaken, InvalidInput, NotFound
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.ports import EmailMessage, PlanOrder, PlatformStatus, StorefrontStatus
from reseller_plans.testing.faults import Faults

__all__ = [
    "FakeBSS",
    "FakeClock",
    "FakeStorefront",
    "InMemoryMailer",
    "StorefrontState",
    "sample_distributor",
]


class FakeClock:
    """A clock you move by hand. Starts at ``start`` (aware UTC)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        if start.tzinfo is None:
            raise InvalidInput("FakeClock needs an aware datetime")
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        if delta < dt.timedelta(0):
            raise InvalidInput("time only moves forward")
        self._now += delta
        return self._now

    def set(self, when: dt.datetime) -> dt.datetime:
        if when < self._now:
            raise InvalidInput("time only moves forward")
        self._now = when
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"


def sample_distributor(distributor_id: str = "D-100", **overrides: object) -> DistributorProfile:
    """An eligible distributor profile; override any field."""
    values: dict[str, object] = {
        "id": distributor_id,
        "name": f"Distributor {distributor_id}",
        "edition": Edition.DIAMOND,
        "active_addons": frozenset({STANDARD_EDITION_RESELLERS_ADDON}),
        "plan_products": {Plan.FREE: "ResellerPlanFree", Plan.STANDARD: "ResellerPlanStandard"},
        "storefront_host": "cloud.disti.example",
        "staff_email": "staff@disti.example",
    }
    values.update(overrides)
    return DistributorProfile(**values)  # type: ignore[arg-type]


class _Orders(Mapping[str, PlanOrder]):
    """Executed orders by idempotency key: a read-only mapping that keeps each order as its
    number (order ``O-<n>`` created platform subscription ``PS-<n>``), since a simulation places
    tens of thousands of them."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def __getitem__(self, key: str) -> PlanOrder:
        number = self._numbers[key]
        return PlanOrder(f"O-{number}", f"PS-{number}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._numbers)

    def __len__(self) -> int:
        return len(self._numbers)

    def __repr__(self) -> str:
        return repr(dict(self))

    def add(self, key: str, number: int) -> None:
        self._numbers[key] = number

    def number(self, key: str) -> int:
        return self._numbers[key]


class FakeBSS:
    """The BSS in memory: distributors, accounts, plan orders, subscriptions and licenses."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.distributors: dict[str, DistributorProfile] = {}
        self.accounts: dict[str, ResellerAccount] = {}
        self._orders = _Orders()
        self.orders: Mapping[str, PlanOrder] = self._orders
        """Executed orders by idempotency key: one order per key, however often it is sent."""
        self.subscriptions: dict[str, str] = {}
        """Platform subscription id → status (active, suspended, cancelled)."""
        self.subscribers: dict[str, tuple[str, str]] = {}
        """Platform subscription id → (account id, product id) of its order."""
        self.licenses: dict[str, Plan] = {}
        """Account id → the plan licensed (absent: Basic)."""
        self._next = 0

    def add_distributor(self, profile: DistributorProfile) -> DistributorProfile:
        self.distributors[profile.id] = profile
        return profile

    def add_account(self, account: ResellerAccount) -> ResellerAccount:
        self.accounts[account.id] = account
        return account

    def get_distributor(self, distributor_id: str) -> DistributorProfile:
        self.faults.before("bss.get_distributor")
        try:
            return self.distributors[distributor_id]
        except KeyError:
            raise NotFound(f"no distributor {distributor_id!r}") from None

    def get_account(self, account_id: str) -> ResellerAccount:
        self.faults.before("bss.get_account")
        try:
            return self.accounts[account_id]
        except KeyError:
            raise NotFound(f"no account {account_id!r}") from None

    def list_resellers(self, distributor_id: str) -> Iterator[ResellerAccount]:
        self.faults.before("bss.list_resellers")
        for account in list(self.accounts.values()):
            if account.distributor_id == distributor_id and account.reselling_enabled:
                yield account

    def place_plan_order(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: str,
        idempotency_key: str,
    ) -> PlanOrder:
        self.faults.before("bss.place_plan_order")
        self._order(account_id, product_id, idempotency_key)
        return self.orders[idempotency_key]

    def _order(self, account_id: str, product_id: str, idempotency_key: str) -> int:
        """The number of the order placed under this key: placed now, unless it was before."""
        if account_id not in self.accounts:
            raise NotFound(f"no account {account_id!r}")
        if idempotency_key in self.orders:
            return self._orders.number(idempotency_key)
        self._next += 1
        self._orders.add(idempotency_key, self._next)
        self.subscriptions[f"PS-{self._next}"] = "active"
        self.subscribers[f"PS-{self._next}"] = (account_id, product_id)
        return self._next

    def _set_status(self, platform_subscription_id: str, status: str) -> None:
        if platform_subscription_id not in self.subscriptions:
            raise NotFound(f"no subscription {platform_subscription_id!r}")
        self.subscriptions[platform_subscription_id] = status

    def cancel_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        self.faults.before("bss.cancel_subscription")
        self._set_status(platform_subscription_id, "cancelled")

    def suspend_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        self.faults.before("bss.suspend_subscription")
        self._set_status(platform_subscription_id, "suspended")

    def resume_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        self.faults.before("bss.resume_subscription")
        self._set_status(platform_subscription_id, "active")

    def provision_license(self, account_id: str, plan: Plan, *, idempotency_key: str) -> None:
        self.faults.before("bss.provision_license")
        if account_id not in self.accounts:
            raise NotFound(f"no account {account_id!r}")
        self.licenses[account_id] = plan

    def revoke_license(self, account_id: str, *, idempotency_key: str) -> None:
        self.faults.before("bss.revoke_license")
        self.licenses.pop(account_id, None)

    def licensed_plan(self, account_id: str) -> Plan:
        self.faults.before("bss.licensed_plan")
        if account_id not in self.accounts:
            raise NotFound(f"no account {account_id!r}")
        return self.licenses.get(account_id, Plan.BASIC)

    def platform_status(self, platform_subscription_id: str) -> PlatformStatus:
        self.faults.before("bss.platform_status")
        if platform_subscription_id not in self.subscriptions:
            raise NotFound(f"no subscription {platform_subscription_id!r}")
        return PlatformStatus(self.subscriptions[platform_subscription_id])

    def platform_subscriptions_of(
        self, account_id: str, product_id: str
    ) -> dict[str, PlatformStatus]:
        self.faults.before("bss.platform_subscriptions_of")
        return {
            pid: PlatformStatus(self.subscriptions[pid])
            for pid, subscriber in self.subscribers.items()
            if subscriber == (account_id, product_id)
        }

    def __repr__(self) -> str:
        return f"FakeBSS(accounts={len(self.accounts)}, orders={len(self.orders)})"


@attrs.define
class StorefrontState:
    """A reseller's storefront in the fake Storefront."""

    alias: str
    plan: Plan
    online: bool = True


class FakeStorefront:
    """The Storefront in memory: aliases, reseller storefronts and the resellers' purchases."""

    def __init__(
        self, bss: FakeBSS, faults: Faults | None = None, *, host: str = "cloud.disti.example"
    ) -> None:
        self.bss = bss
        self.faults = faults or bss.faults
        self.host = host
        self.aliases: dict[str, str] = {}
        """Alias → the account holding it."""
        self.storefronts: dict[str, StorefrontState] = {}
        """Account id → its storefront (absent: none)."""
        self._purchases = _Orders()
        self.purchases: Mapping[str, PlanOrder] = self._purchases
        """The resellers' purchases by idempotency key (each is an order in the BSS too)."""

    def is_alias_free(self, alias: StorefrontAlias, *, account_id: str) -> bool:
        self.faults.before("storefront.is_alias_free")
        return self.aliases.get(alias.value, account_id) == account_id

    def hold_alias(self, alias: StorefrontAlias, *, account_id: str) -> None:
        self.faults.before("storefront.hold_alias")
        owner = self.aliases.get(alias.value)
        if owner is not None and owner != account_id:
            raise AliasTaken(alias.value)
        self.aliases[alias.value] = account_id

    def release_alias(
        self, alias: StorefrontAlias, *, account_id: str, idempotency_key: str | None = None
    ) -> None:
        self.faults.before("storefront.release_alias")
        if self.aliases.get(alias.value) == account_id:
            del self.aliases[alias.value]

    def activate_storefront(
        self,
        account_id: str,
        alias: StorefrontAlias,
        plan: Plan,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        self.faults.before("storefront.activate_storefront")
        if self.aliases.get(alias.value) != account_id:
            raise AliasTaken(alias.value)
        self.storefronts[account_id] = StorefrontState(alias.value, plan, True)
        return alias.url(self.host)

    def _storefront(self, account_id: str) -> StorefrontState | None:
        return self.storefronts.get(account_id)

    def suspend_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        self.faults.before("storefront.suspend_storefront")
        state = self._storefront(account_id)
        if state is not None:
            state.online = False

    def resume_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        self.faults.before("storefront.resume_storefront")
        state = self._storefront(account_id)
        if state is not None:
            state.online = True

    def deactivate_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        self.faults.before("storefront.deactivate_storefront")
        self.storefronts.pop(account_id, None)

    def storefront_status(self, account_id: str) -> StorefrontStatus:
        self.faults.before("storefront.storefront_status")
        state = self._storefront(account_id)
        if state is None:
            return StorefrontStatus.NONE
        return StorefrontStatus.LIVE if state.online else StorefrontStatus.SUSPENDED

    def purchase_plan(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: str,
        idempotency_key: str,
    ) -> PlanOrder:
        self.faults.before("storefront.purchase_plan")
        number = self.bss._order(account_id, product_id, "storefront:" + idempotency_key)
        self._purchases.add(idempotency_key, number)
        return self.purchases[idempotency_key]

    def __repr__(self) -> str:
        return f"FakeStorefront(storefronts={len(self.storefronts)})"


class InMemoryMailer:
    """Keeps every message it is asked to send, in order.

    Args:
        faults: the fault script it consults before each send (operation ``"mailer.send"``).
        keep_messages: keep the messages themselves in ``sent`` (True); a long simulation that
            only needs to know what was sent passes False and reads ``counts``.
    """

    def __init__(self, faults: Faults | None = None, *, keep_messages: bool = True) -> None:
        self.faults = faults or Faults()
        self.sent: list[EmailMessage] = []
        self.counts: Counter[str] = Counter()
        """Message id → how many times a message with that id was sent."""
        self.kinds: Counter[MessageKind] = Counter()
        """Message kind → how many were sent."""
        self.keep_messages = keep_messages

    def send(self, message: EmailMessage) -> None:
        self.faults.before("mailer.send")
        self.counts[message.message_id] += 1
        self.kinds[message.kind] += 1
        if self.keep_messages:
            self.sent.append(message)

    def to(self, address: str) -> list[EmailMessage]:
        """The messages sent to ``address``."""
        return [m for m in self.sent if address in m.to]

    def of_kind(self, kind: MessageKind) -> list[EmailMessage]:
        """The messages of one kind."""
        return [m for m in self.sent if m.kind is kind]

    def __repr__(self) -> str:
        return f"InMemoryMailer(sent={self.counts.total()})"
