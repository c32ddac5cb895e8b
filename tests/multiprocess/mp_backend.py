"""Backends shared by every process of a multi-process test: the BSS, the Storefront and the
mailer, as fakes whose whole state is one append-only recorder file.

Each backend effect is one JSON line, written with one ``os.write`` on an ``O_APPEND`` file
descriptor, under an exclusive ``flock`` of a lock file beside it: a process first replays the
lines it has not seen yet (every process keeps its own replayed copy and the offset it read up
to), checks the call against that state (an alias another account holds, a platform subscription
that does not exist), then appends its effect. So every process sees the same storefronts,
licenses and orders, and one file records every effect with the pid that caused it.

Like the platform, these backends ignore idempotency keys: a repeated call is a second effect,
visible in the file. The key is recorded, so that a second effect of one saga step (same action,
same key) or a second delivery of one message (same Message-ID) can be counted.

Hooks, set in a process's environment (the stops name an action):

- ``MP_STOP_AFTER``: after the first such effect is recorded, write ``MP_MARKER`` and block
  (the test SIGKILLs the process there);
- ``MP_MAIL_DOWN``: the mailer refuses every message (a transient failure);
- ``MP_STOP_BEFORE``: at the first such call, before the effect, write ``MP_MARKER`` and block
  until ``MP_RELEASE`` exists (the test SIGSTOPs the process there, and later SIGCONTs it).
"""

from __future__ import annotations

import collections
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from reseller_plans.domain.accounts import DistributorProfile, ResellerAccount
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import AliasTaken, NotFound, TransientBackendError
from reseller_plans.domain.plans import Plan
from reseller_plans.ports import EmailMessage, PlanOrder, PlatformStatus, StorefrontStatus
from reseller_plans.testing.fakes import sample_distributor

DISTRIBUTOR = "D-100"

WRITES = frozenset(
    {
        "place_order",
        "provision_license",
        "revoke_license",
        "cancel_on_platform",
        "suspend_on_platform",
        "resume_on_platform",
        "activate_storefront",
        "suspend_storefront",
        "resume_storefront",
        "deactivate_storefront",
        "release_alias",
        "deliver",
    }
)
"""The effects that carry a key (or a Message-ID): a second one with the same key is a
duplicate. ``hold_alias`` takes none (holding one's own alias again changes nothing)."""


def account_id(index: int) -> str:
    return f"A{index}"


def accounts(count: int) -> list[ResellerAccount]:
    """The same accounts in every process: ``A0`` … on distributor ``D-100``."""
    return [
        ResellerAccount(account_id(i), DISTRIBUTOR, f"Reseller {i}", f"r{i}@x.example")
        for i in range(count)
    ]


@attrs.define
class Storefront:
    alias: str
    plan: Plan
    online: bool = True


@attrs.define
class State:
    """The backends' state, replayed from the recorder."""

    orders: int = 0
    platform: dict[str, str] = attrs.field(factory=dict)
    subscribers: dict[str, tuple[str, str]] = attrs.field(factory=dict)
    licenses: dict[str, Plan] = attrs.field(factory=dict)
    aliases: dict[str, str] = attrs.field(factory=dict)
    storefronts: dict[str, Storefront] = attrs.field(factory=dict)
    deliveries: collections.Counter[str] = attrs.field(factory=collections.Counter)

    def apply(self, e: dict[str, Any]) -> None:
        action, subject = e["action"], e["subject"]
        if action == "place_order":
            self.orders += 1
            self.platform[e["psid"]] = "active"
            self.subscribers[e["psid"]] = (e["subject"], e["product"])
        elif action in ("cancel_on_platform", "suspend_on_platform", "resume_on_platform"):
            status = {"cancel": "cancelled", "suspend": "suspended", "resume": "active"}
            self.platform[subject] = status[action.split("_")[0]]
        elif action == "provision_license":
            self.licenses[subject] = Plan(e["plan"])
        elif action == "revoke_license":
            self.licenses.pop(subject, None)
        elif action == "hold_alias":
            self.aliases[e["alias"]] = subject
        elif action == "release_alias":
            if self.aliases.get(e["alias"]) == subject:
                del self.aliases[e["alias"]]
        elif action == "activate_storefront":
            self.storefronts[subject] = Storefront(e["alias"], Plan(e["plan"]))
        elif action in ("suspend_storefront", "resume_storefront"):
            if subject in self.storefronts:
                self.storefronts[subject].online = action == "resume_storefront"
        elif action == "deactivate_storefront":
            self.storefronts.pop(subject, None)
        elif action == "deliver":
            self.deliveries[subject] += 1


def read_effects(path: str | Path) -> list[dict[str, Any]]:
    text = Path(path).read_text() if Path(path).exists() else ""
    return [json.loads(line) for line in text.splitlines() if line]


def replay(path: str | Path) -> State:
    state = State()
    for entry in read_effects(path):
        state.apply(entry)
    return state


def duplicates(effects: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Every (action, key) of a write seen more than once, with how many times."""
    counts = collections.Counter((e["action"], e["key"]) for e in effects if e["action"] in WRITES)
    return {k: n for k, n in counts.items() if n > 1}


class Backend:
    """The recorder file, its lock, this process's replayed state and the stop hooks."""

    def __init__(self, path: str | Path, *, latency: float = 0.0, name: str = "") -> None:
        self.path = str(path)
        self.latency = latency
        self.name = name or str(os.getpid())
        self.state = State()
        self._offset = 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._stop_after = os.environ.get("MP_STOP_AFTER")
        self._stop_before = os.environ.get("MP_STOP_BEFORE")
        self._marker = os.environ.get("MP_MARKER", "")
        self._release = os.environ.get("MP_RELEASE", "")

    def _catch_up(self) -> None:
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            self.state.apply(json.loads(line))
        self._offset += end

    def read(self) -> State:
        """The state as of now (for reads: ``get_account``, ``is_alias_free``, …)."""
        time.sleep(self.latency)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._catch_up()
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
        return self.state

    def effect(
        self,
        action: str,
        subject: str,
        key: str | None,
        check: Callable[[State], dict[str, Any]] | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        """Check the call against the current state, record its effect; returns the entry."""
        time.sleep(self.latency)
        if action == self._stop_before:
            self._stop_before = None
            Path(self._marker).write_text(str(os.getpid()))
            while not Path(self._release).exists():  # frozen here by SIGSTOP, then let go
                time.sleep(0.005)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._catch_up()
            extra = check(self.state) if check else {}
            entry = {"pid": os.getpid(), "who": self.name, "action": action}
            entry |= {"subject": subject, "key": key, **data, **extra}
            line = (json.dumps(entry, sort_keys=True) + "\n").encode()
            os.write(self._fd, line)
            self.state.apply(entry)
            self._offset += len(line)
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
        if action == self._stop_after:
            Path(self._marker).write_text(str(os.getpid()))
            while True:  # the test kills the process here
                time.sleep(1)
        return entry

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._lock)


class FileBSS:
    """The ``BSS`` port over the recorder (modelled on ``testing.fakes.FakeBSS``)."""

    def __init__(self, backend: Backend, count: int) -> None:
        self.backend = backend
        self.distributor: DistributorProfile = sample_distributor(DISTRIBUTOR)
        self.accounts = {a.id: a for a in accounts(count)}

    def get_distributor(self, distributor_id: str) -> DistributorProfile:
        self.backend.read()
        if distributor_id != self.distributor.id:
            raise NotFound(f"no distributor {distributor_id!r}")
        return self.distributor

    def get_account(self, account_id: str) -> ResellerAccount:
        """The account, on the plan it is licensed for now (Basic after a revoke)."""
        state = self.backend.read()
        if account_id not in self.accounts:
            raise NotFound(f"no account {account_id!r}")
        plan = state.licenses.get(account_id, Plan.BASIC)
        return attrs.evolve(self.accounts[account_id], plan=plan)

    def licensed_plan(self, account_id: str) -> Plan:
        """The plan the account's license names (the reconciler's read)."""
        return self.get_account(account_id).plan

    def platform_status(self, platform_subscription_id: str) -> PlatformStatus:
        """What the platform shows of one subscription (the takeover probe's read)."""
        state = self.backend.read()
        if platform_subscription_id not in state.platform:
            raise NotFound(f"no subscription {platform_subscription_id!r}")
        return PlatformStatus(state.platform[platform_subscription_id])

    def platform_subscriptions_of(
        self, account_id: str, product_id: str
    ) -> dict[str, PlatformStatus]:
        """The account's platform subscriptions of the product (the takeover probe's read)."""
        state = self.backend.read()
        return {
            psid: PlatformStatus(state.platform[psid])
            for psid, subscriber in state.subscribers.items()
            if subscriber == (account_id, product_id)
        }

    def list_resellers(self, distributor_id: str) -> Iterator[ResellerAccount]:
        for account_id in list(self.accounts):
            yield self.get_account(account_id)

    def _known(self, account_id: str) -> None:
        if account_id not in self.accounts:
            raise NotFound(f"no account {account_id!r}")

    def place_plan_order(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: str,
        idempotency_key: str,
    ) -> PlanOrder:
        self._known(account_id)

        def number(state: State) -> dict[str, Any]:
            n = state.orders + 1
            return {"order": f"O-{n}", "psid": f"PS-{n}"}

        e = self.backend.effect(
            "place_order", account_id, idempotency_key, number, product=product_id
        )
        return PlanOrder(e["order"], e["psid"])

    def _platform(self, action: str, psid: str, key: str) -> None:
        def exists(state: State) -> dict[str, Any]:
            if psid not in state.platform:
                raise NotFound(f"no subscription {psid!r}")
            return {}

        self.backend.effect(action, psid, key, exists)

    def cancel_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        self._platform("cancel_on_platform", platform_subscription_id, idempotency_key)

    def suspend_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        self._platform("suspend_on_platform", platform_subscription_id, idempotency_key)

    def resume_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        self._platform("resume_on_platform", platform_subscription_id, idempotency_key)

    def provision_license(self, account_id: str, plan: Plan, *, idempotency_key: str) -> None:
        self._known(account_id)
        self.backend.effect("provision_license", account_id, idempotency_key, plan=plan.value)

    def revoke_license(self, account_id: str, *, idempotency_key: str) -> None:
        self.backend.effect("revoke_license", account_id, idempotency_key)


class FileStorefront:
    """The ``Storefront`` port over the recorder (modelled on ``testing.fakes.FakeStorefront``)."""

    def __init__(self, bss: FileBSS) -> None:
        self.bss = bss
        self.backend = bss.backend

    def is_alias_free(self, alias: StorefrontAlias, *, account_id: str) -> bool:
        state = self.backend.read()
        return state.aliases.get(alias.value, account_id) == account_id

    def hold_alias(self, alias: StorefrontAlias, *, account_id: str) -> None:
        def free(state: State) -> dict[str, Any]:
            if state.aliases.get(alias.value, account_id) != account_id:
                raise AliasTaken(alias.value)
            return {}

        self.backend.effect("hold_alias", account_id, None, free, alias=alias.value)

    def release_alias(
        self, alias: StorefrontAlias, *, account_id: str, idempotency_key: str | None = None
    ) -> None:
        self.backend.effect("release_alias", account_id, idempotency_key, alias=alias.value)

    def activate_storefront(
        self,
        account_id: str,
        alias: StorefrontAlias,
        plan: Plan,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        def held(state: State) -> dict[str, Any]:
            if state.aliases.get(alias.value) != account_id:
                raise AliasTaken(alias.value)
            return {}

        data = {"alias": alias.value, "plan": plan.value}
        self.backend.effect("activate_storefront", account_id, idempotency_key, held, **data)
        return alias.url(self.bss.distributor.storefront_host)

    def suspend_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        self.backend.effect("suspend_storefront", account_id, idempotency_key)

    def resume_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        self.backend.effect("resume_storefront", account_id, idempotency_key)

    def deactivate_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        self.backend.effect("deactivate_storefront", account_id, idempotency_key)

    def purchase_plan(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: str,
        idempotency_key: str,
    ) -> PlanOrder:
        return self.bss.place_plan_order(
            account_id=account_id,
            product_id=product_id,
            alias=alias,
            billing_cycle=billing_cycle,
            idempotency_key=idempotency_key,
        )

    def storefront_status(self, account_id: str) -> StorefrontStatus:
        """``"live"``, ``"suspended"`` or ``"none"``: the account's storefront as it is now."""
        found = self.backend.read().storefronts.get(account_id)
        if found is None:
            return StorefrontStatus("none")
        return StorefrontStatus("live" if found.online else "suspended")


class FileMailer:
    """The ``Mailer`` port: each delivery is an effect keyed by its Message-ID."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def send(self, message: EmailMessage) -> None:
        if os.environ.get("MP_MAIL_DOWN"):
            raise TransientBackendError("the mail server is down")
        mid = message.message_id
        self.backend.effect("deliver", mid, mid, kind=message.kind.value, to=list(message.to))
