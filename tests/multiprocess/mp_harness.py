"""The test side of the multi-process tests: one store (a SQLite file or a fresh PostgreSQL
schema), the recorder, seeding, starting and stopping the children of ``mp_worker``, and the
checks every case ends with."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mp_backend import (
    DISTRIBUTOR,
    WRITES,
    Backend,
    FileBSS,
    FileMailer,
    FileStorefront,
    State,
    account_id,
    accounts,
    duplicates,
    read_effects,
    replay,
)

from reseller_plans import LeaseSettings, Plan, ResellerPlans, SQLiteStore, StorefrontAlias
from reseller_plans.domain import saga
from reseller_plans.domain.events import Requested
from reseller_plans.domain.subscription import (
    Channel,
    OperationKind,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    Term,
)
from reseller_plans.stores.postgres import PostgresStore
from reseller_plans.testing import Sandbox
from reseller_plans.testing.fakes import StorefrontState, sample_distributor
from reseller_plans.testing.sandbox_store import SandboxStore

DSN = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")
WORKER = Path(__file__).with_name("mp_worker.py")
LEASES = {"lease": 10.0, "step_deadline": 4.0, "margin": 1.0, "busy_timeout": 0.0}
SHORT = {"lease": 2.0, "step_deadline": 1.0, "margin": 0.5, "busy_timeout": 0.0, "outbox_claim": 2}
PAST_SHORT_LEASES = 5.0
"""A clock this far ahead sees every ``SHORT`` lease and claim of a real-time process ended."""
SETTLED = (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED, SubscriptionStatus.CANCELLED)


def sid(index: int) -> str:
    return f"sub_{index:03d}"


class Harness:
    """One case's world: the store, the recorder, the children it started."""

    def __init__(self, kind: str, folder: Path, schema: str | None) -> None:
        self.kind, self.folder = kind, folder
        self.recorder = str(folder / "effects.jsonl")
        Path(self.recorder).touch()
        if kind == "sqlite":
            self.spec: dict[str, Any] = {"kind": "sqlite", "path": str(folder / "plans.sqlite3")}
        else:
            self.spec = {"kind": "postgres", "dsn": DSN, "schema": schema}
        self.store = self.open_store()
        self.children: list[subprocess.Popen[bytes]] = []
        self.count = 0
        self._names = collections.Counter[str]()

    def open_store(self) -> SandboxStore:
        if self.kind == "sqlite":
            return SQLiteStore(self.spec["path"])
        return PostgresStore(self.spec["dsn"], schema=self.spec["schema"])

    # ------------------------------------------------------------------ seeding

    def seed_activations(self, count: int, plan: Plan = Plan.FREE) -> list[str]:
        """Activations committed and left in progress, none of their steps run: what an
        upgrade leaves when its process dies right after its commit."""
        self.count = max(self.count, count)
        now = dt.datetime.now(dt.UTC)
        product = sample_distributor(DISTRIBUTOR).product_for(plan) or ""
        with self.store.unit_of_work() as uow:
            for i in range(count):
                alias = StorefrontAlias(f"shop{i}")
                sub = Subscription(
                    sid(i), account_id(i), DISTRIBUTOR, plan, alias, SubscriptionStatus.PENDING,
                    Term.starting(now), Channel.BSS,
                )  # fmt: skip
                assert uow.reserve_alias_hold(alias.value, sub.account_id)
                started = saga.start(sub, OperationKind.ACTIVATION, product_id=product)
                uow.add(started, (Requested(sub.id, now, sub.account_id, plan, "bss"),))
        return [sid(i) for i in range(count)]

    def seed_cancellations(self, ids: list[str]) -> None:
        """Immediate cancellations committed and left in progress (as ``cancel`` commits)."""
        with self.store.unit_of_work() as uow:
            for i in ids:
                sub = uow.get(i)
                assert sub is not None
                assert sub.status is SubscriptionStatus.ACTIVE
                started = saga.start(sub, OperationKind.CANCELLATION)
                uow.save(started, (), expected_version=sub.version)

    # ------------------------------------------------------------------ children

    def settings(self, role: str, **extra: Any) -> dict[str, Any]:
        self._names[role] += 1
        name = f"{role}-{self._names[role]}"
        values: dict[str, Any] = {
            "role": role, "name": name, "store": self.spec, "recorder": self.recorder,
            "latency": 0.005, "count": self.count, "leases": LEASES,
            "result": str(self.folder / f"{name}.json"),
        }  # fmt: skip
        return values | extra

    def start(self, settings: dict[str, Any], **env: str) -> subprocess.Popen[bytes]:
        name = settings["name"]
        out = (self.folder / f"{name}.log").open("wb")
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(WORKER), json.dumps(settings)],
            env=os.environ | env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        child.name = name  # type: ignore[attr-defined]
        self.children.append(child)
        return child

    def finish(self, child: subprocess.Popen[bytes], timeout: float = 90) -> dict[str, Any]:
        """Wait for the child; its result, or fail with its output."""
        name = child.name  # type: ignore[attr-defined]
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            pytest.fail(f"{name} did not finish in {timeout}s:\n{self.log(name)}")
        assert code == 0, f"{name} exited with {code}:\n{self.log(name)}"
        result: dict[str, Any] = json.loads((self.folder / f"{name}.json").read_text())
        return result

    def run(self, role: str, timeout: float = 90, env: dict[str, str] | None = None,
            **extra: Any) -> dict[str, Any]:  # fmt: skip
        return self.finish(self.start(self.settings(role, **extra), **(env or {})), timeout)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-4000:]

    def wait_for_file(
        self, path: Path, child: subprocess.Popen[bytes], timeout: float = 60
    ) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            name = child.name  # type: ignore[attr-defined]
            assert child.poll() is None, f"{name} ended before {path.name}:\n{self.log(name)}"
            assert time.monotonic() < deadline, f"no {path.name} after {timeout}s"
            time.sleep(0.005)

    def kill_all(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGCONT)
                child.kill()
            child.wait()

    # ------------------------------------------------------------------ the end

    def plans(self, name: str = "test") -> tuple[ResellerPlans, Backend]:
        backend = Backend(self.recorder, name=name)
        bss = FileBSS(backend, self.count)
        leases = LeaseSettings(**{k: dt.timedelta(seconds=v) for k, v in LEASES.items()})
        plans = ResellerPlans(
            bss=bss, storefront=FileStorefront(bss), mailer=FileMailer(backend),
            store=self.store, leases=leases,
        )  # fmt: skip
        return plans, backend

    def final_run_due(self) -> None:
        """``run_due()`` until it finds nothing to do: nothing may fail in it."""
        plans, backend = self.plans("final")
        for _ in range(10):
            report = plans.run_due()
            assert report.failures == ()
            if report.subscriptions == report.emails_sent == report.busy == 0:
                break
        backend.close()

    def effects(self) -> list[dict[str, Any]]:
        return read_effects(self.recorder)

    def check_end(self, *, allowed: dict[tuple[str, str], int] | None = None) -> dict[str, Any]:
        """After a final ``run_due()``: no duplicate (beyond ``allowed``), no live storefront
        or license for an account without a live subscription, every subscription settled,
        every message delivered, and the invariants of ``reseller_plans.testing``. Returns
        the figures."""
        self.final_run_due()
        effects = self.effects()
        state = replay(self.recorder)
        dups = duplicates(effects)
        problems = [f"{n} x {action} {key}" for (action, key), n in dups.items()]
        problems = [
            p for p, k in zip(problems, dups, strict=True) if (allowed or {}).get(k) != dups[k]
        ]
        subs = list(self.store.iter_subscriptions())
        with self.store.unit_of_work() as uow:
            for sub in subs:
                op = sub.operation
                if sub.status not in SETTLED or (
                    op is not None and op.sync is SyncStatus.IN_PROGRESS
                ):
                    problems.append(f"{sub.id} is not settled: {sub.status.value}, {op}")
                for entry in uow.outbox_of(sub.id):
                    if entry.sent_at is None or state.deliveries[entry.id] < 1:
                        problems.append(f"message {entry.id} was never delivered")
            live = {a.id: uow.live_subscription_of(a.id) for a in accounts(self.count)}
        for account, sub in live.items():
            if sub is None and account in state.licenses:
                problems.append(f"{account} has no live subscription but a license")
            if sub is None and account in state.storefronts:
                problems.append(f"{account} has no live subscription but a storefront")
        resent = {key for (action, key), n in (allowed or {}).items() if action == "deliver"}
        problems += [
            p
            for p in invariant_violations(self.store, state, self.count)
            if not any(p.startswith(f"message {m!r} was sent 2 times") for m in resent)
        ]
        assert problems == [], "\n".join(problems)
        return {"effects": len(effects), "duplicates": sum(n - 1 for n in dups.values())}


def invariant_violations(store: SandboxStore, state: State, count: int) -> list[str]:
    """``Sandbox.violations()`` over the store, with the fakes' state as the files say."""
    sandbox = Sandbox(store=store)
    sandbox.bss.add_distributor(sample_distributor(DISTRIBUTOR))
    for account in accounts(count):
        sandbox.bss.add_account(account)
    sandbox.bss.licenses.update(state.licenses)
    sandbox.storefront.aliases.update(state.aliases)
    for account, front in state.storefronts.items():
        sandbox.storefront.storefronts[account] = StorefrontState(
            front.alias, front.plan, front.online
        )
    sandbox.mailer.counts.update(state.deliveries)
    return sandbox.violations()


def steps_by(effects: list[dict[str, Any]], who: str) -> int:
    return sum(1 for e in effects if e["who"] == who and e["action"] in WRITES | {"hold_alias"})
