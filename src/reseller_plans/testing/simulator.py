"""``Simulator``: thousands of reseller lifecycles over simulated months, replayable from a seed.

A seeded population of distributors and resellers (a share of them ineligible) lives through a
mix of commands each simulated day (upgrades over both channels, plan changes both ways,
suspensions, resumptions, cancellations at once and at the end of the term, alias collisions),
while the sandbox's clock runs what falls due (renewals, scheduled changes, expiries, alias
releases). Transient and permanent backend faults, latency and crashes are injected along the
way; a crash is followed by a restart. After every step the invariants of the accounts it touched
are checked, and all of them at the end. The result is a ``SimulationReport``; the same seed
gives the same report.
"""

from __future__ import annotations

import copy
import datetime as dt
import multiprocessing
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import attrs

from reseller_plans.domain.accounts import Edition, ServiceManagerState
from reseller_plans.domain.errors import InvalidInput, ResellerPlansError
from reseller_plans.domain.events import Event, ProvisioningFailed, Renewed
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan, Timing
from reseller_plans.domain.subscription import (
    BillingCycle,
    Subscription,
    SubscriptionStatus,
    add_months,
)
from reseller_plans.testing.faults import SimulatedCrash
from reseller_plans.testing.packed_store import PackedStore
from reseller_plans.testing.sandbox import DEFAULT_START, Sandbox

__all__ = ["SimulationReport", "Simulator"]

_MAX_LISTED_VIOLATIONS = 50


@attrs.frozen(hash=False)  # its counts are dicts: equal by value, not hashable
class SimulationReport:
    """What a simulation did and found. Two runs with the same seed and settings are equal.

    Attributes:
        seed: the seed.
        resellers: the population's size.
        distributors: how many distributors (eligible and not).
        months: simulated months.
        steps: commands issued.
        subscriptions: subscriptions created.
        outcomes: ``"<command>.<result>"`` → count; results are ``ok``, ``rolled_back``
            (compensated after a permanent failure), ``awaiting_retry``, ``crashed``, or the name
            of the error that refused the command (``NotEligible``, ``AliasTaken``, ...).
        events: domain event name → count (renewals, scheduled changes applied, expiries, ...).
        plans_by_month: for each simulated month, how many resellers were on each plan at its end.
        emails_sent: messages the mailer accepted.
        emails_by_kind: message kind → count.
        faults_injected: fault kind (``transient``, ``permanent``, ``latency``, ``crash``) →
            how many calls it hit.
        restarts: service restarts after a crash.
        awaiting_retry: subscriptions still waiting for a retry at the end.
        violations: every invariant violation found (empty when all guarantees held).
    """

    seed: int
    resellers: int
    distributors: int
    months: int
    steps: int
    subscriptions: int
    outcomes: Mapping[str, int]
    events: Mapping[str, int]
    plans_by_month: tuple[Mapping[str, int], ...]
    emails_sent: int
    emails_by_kind: Mapping[str, int]
    faults_injected: Mapping[str, int]
    restarts: int
    awaiting_retry: int
    violations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no invariant was violated."""
        return not self.violations

    def __str__(self) -> str:
        def table(counts: Mapping[str, int], indent: str = "  ") -> list[str]:
            width = max((len(k) for k in counts), default=0)
            return [f"{indent}{k:<{width}}  {v:>8,}" for k, v in counts.items()]

        lines = [
            f"Simulation (seed {self.seed}): {self.resellers:,} resellers of "
            f"{self.distributors:,} distributors over {self.months} months",
            f"  steps {self.steps:,}, subscriptions {self.subscriptions:,}, "
            f"restarts after a crash {self.restarts:,}, awaiting retry at the end "
            f"{self.awaiting_retry:,}",
            "Outcomes of commands:",
            *table(self.outcomes),
            "Events:",
            *table(self.events),
            "Plans at the end of each month (basic / free / standard):",
        ]
        for month, plans in enumerate(self.plans_by_month, 1):
            counts = " / ".join(f"{plans.get(p.value, 0):,}" for p in Plan)
            lines.append(f"  month {month:>2}: {counts}")
        lines += [f"Emails sent: {self.emails_sent:,}", *table(self.emails_by_kind)]
        lines += ["Faults injected:", *table(self.faults_injected)]
        if self.violations:
            lines.append(f"INVARIANT VIOLATIONS: {len(self.violations)}")
            lines += [f"  - {v}" for v in self.violations[:_MAX_LISTED_VIOLATIONS]]
            if len(self.violations) > _MAX_LISTED_VIOLATIONS:
                lines.append(f"  ... and {len(self.violations) - _MAX_LISTED_VIOLATIONS} more")
        else:
            lines.append("Invariant violations: none")
        return "\n".join(lines)


@attrs.frozen
class _Rendered:
    subject: str
    text: str
    html: str


class _PlainTemplates:
    """A renderer that costs nothing: a simulation counts messages, nobody reads them."""

    _message = _Rendered("reseller plan", "reseller plan", "<p>reseller plan</p>")

    def render(self, kind: MessageKind, context: Mapping[str, str]) -> _Rendered:
        return self._message


# The port operations each command reaches, where the simulation aims its faults.
_ACTIVATE = (
    "bss.place_plan_order",
    "bss.provision_license",
    "storefront.hold_alias",
    "storefront.activate_storefront",
    "mailer.send",
)
_OPS: dict[str, tuple[str, ...]] = {
    "upgrade": _ACTIVATE,
    "upgrade_to_standard": ("bss.provision_license", "storefront.activate_storefront"),
    "change_to_free_now": ("bss.provision_license", "storefront.activate_storefront"),
    "cancel_now": (
        "storefront.deactivate_storefront",
        "bss.revoke_license",
        "bss.cancel_subscription",
        "mailer.send",
    ),
    "suspend": ("storefront.suspend_storefront", "bss.suspend_subscription", "mailer.send"),
    "resume": ("bss.resume_subscription", "storefront.resume_storefront", "mailer.send"),
    "retry": _ACTIVATE,
}
_CHANNELS: tuple[Literal["storefront"], Literal["bss"]] = ("storefront", "bss")
_DUE_OPS = (
    "bss.provision_license",
    "storefront.activate_storefront",
    "storefront.deactivate_storefront",
    "bss.revoke_license",
    "bss.cancel_subscription",
    "storefront.release_alias",
    "mailer.send",
)


class Simulator:
    """Simulate reseller lifecycles; :meth:`run` returns a ``SimulationReport``.

    Args:
        seed: seeds everything; the same seed and settings replay the same simulation.
        resellers: the population's size.
        months: how long to simulate.
        distributors: how many eligible distributors (one per 200 resellers by default); with
            ``ineligible_share`` > 0, four ineligible ones are added (wrong edition, add-on
            inactive, service manager inactive, Standard product missing).
        ineligible_share: the share of resellers that are not eligible (reselling disabled, or
            under an ineligible distributor).
        activity: the share of resellers that act on a given day.
        annual_share: the share of subscriptions billed annually (the rest monthly).
        collision_rate: the share of upgrades asking for an alias another reseller has.
        faults: inject backend faults (transient, permanent, latency).
        fault_rate: the chance that a command, or a day's due work, meets a fault.
        crashes: inject crashes (each followed by a restart).
        crash_rate: the chance that a command, or a day's due work, crashes.
        check_every_step: check the invariants of the accounts each step touched (a full check
            always runs at the end).
        start: when the simulation starts.
        workers: run in this many processes (one per core): the population is split into as
            many independent worlds, each with its share of resellers and distributors and a
            seed drawn from ``seed``, and their reports are added up. Another simulation than
            with one worker, equally replayable.
        sandbox: build the world with this (``Sandbox``'s own arguments); for tests. With
            ``workers`` > 1 it must be picklable (a module-level function).
    """

    def __init__(
        self,
        seed: int = 0,
        resellers: int = 1_000,
        months: int = 12,
        *,
        distributors: int | None = None,
        ineligible_share: float = 0.1,
        activity: float = 0.006,
        annual_share: float = 0.2,
        collision_rate: float = 0.03,
        faults: bool = True,
        fault_rate: float = 0.03,
        crashes: bool = True,
        crash_rate: float = 0.003,
        check_every_step: bool = True,
        start: dt.datetime = DEFAULT_START,
        workers: int = 1,
        sandbox: Callable[[int, dt.datetime], Sandbox] | None = None,
    ) -> None:
        if resellers < 1 or months < 1:
            raise InvalidInput("a simulation needs at least one reseller and one month")
        if workers < 1:
            raise InvalidInput("a simulation needs at least one worker")
        self.seed = seed
        self.resellers = resellers
        self.months = months
        self.distributors = distributors or max(1, resellers // 200)
        self.ineligible_share = ineligible_share
        self.activity = activity
        self.annual_share = annual_share
        self.collision_rate = collision_rate
        self.faults = faults
        self.fault_rate = fault_rate
        self.crashes = crashes
        self.crash_rate = crash_rate
        self.check_every_step = check_every_step
        self.start = start
        self.workers = workers
        self._make_sandbox = sandbox or _sandbox
        self.world: Sandbox | None = None
        """The ``Sandbox`` of the last run."""

    def __repr__(self) -> str:
        return (
            f"Simulator(seed={self.seed}, resellers={self.resellers}, months={self.months}, "
            f"faults={self.faults}, crashes={self.crashes}, workers={self.workers})"
        )

    def run(self) -> SimulationReport:
        """Run the simulation from the start; every call replays it from the seed.

        The world it ran in stays in ``world`` for a closer look (``world.history("3583")``)
        until the next run.
        """
        self.world = None  # let the last run's world go before building the next one
        if self.workers > 1 and self.resellers > 1:
            return self._run_in_processes()
        run = _Run(self)
        self.world = run.sandbox
        return run.run()

    def _shards(self) -> list[Simulator]:
        count = min(self.workers, self.resellers)
        seeds = random.Random(self.seed)  # noqa: S311 - seeds of a simulation
        shards = []
        for i in range(count):
            shard = copy.copy(self)
            shard.workers = 1
            shard.seed = seeds.getrandbits(32)
            shard.resellers = self.resellers // count + (i < self.resellers % count)
            shard.distributors = max(
                1, self.distributors // count + (i < self.distributors % count)
            )
            shards.append(shard)
        return shards

    def _run_in_processes(self) -> SimulationReport:
        shards = self._shards()
        # Forking is fast and safe while this process has no other thread; otherwise spawn.
        fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        context = multiprocessing.get_context("fork" if fork else "spawn")
        with context.Pool(len(shards)) as pool:
            reports = pool.map(_run_shard, shards)
        return _merge(self, reports)


def _run_shard(shard: Simulator) -> SimulationReport:
    return shard.run()


def _add(mappings: Sequence[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for mapping in mappings:
        total.update(mapping)
    return dict(sorted(total.items()))


def _merge(sim: Simulator, reports: Sequence[SimulationReport]) -> SimulationReport:
    """One report for the worlds a simulation ran in side by side."""
    return SimulationReport(
        seed=sim.seed,
        resellers=sum(r.resellers for r in reports),
        distributors=sum(r.distributors for r in reports),
        months=sim.months,
        steps=sum(r.steps for r in reports),
        subscriptions=sum(r.subscriptions for r in reports),
        outcomes=_add([r.outcomes for r in reports]),
        events=_add([r.events for r in reports]),
        plans_by_month=tuple(
            _add(months) for months in zip(*(r.plans_by_month for r in reports), strict=True)
        ),
        emails_sent=sum(r.emails_sent for r in reports),
        emails_by_kind=_add([r.emails_by_kind for r in reports]),
        faults_injected=_add([r.faults_injected for r in reports]),
        restarts=sum(r.restarts for r in reports),
        awaiting_retry=sum(r.awaiting_retry for r in reports),
        violations=tuple(f"world {i}: {v}" for i, r in enumerate(reports, 1) for v in r.violations),
    )


def _sandbox(seed: int, start: dt.datetime) -> Sandbox:
    """The world of a simulation: compact (a ``PackedStore``), keeping no message nor log."""
    store = PackedStore(keep_sent_context=False, keep_event_log=False)
    return Sandbox(
        seed,
        start,
        templates=_PlainTemplates(),
        keep_messages=False,
        keep_events=False,
        store=store,
    )


class _Run:
    """One run of a simulation: the mutable state ``Simulator.run`` works on."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.rng = random.Random(sim.seed)  # noqa: S311 - a seeded simulation
        self.sandbox = sim._make_sandbox(sim.seed, sim.start)
        self.accounts: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.events: Counter[type[Event]] = Counter()
        self.unchecked: list[Event] = []
        """Events committed since the last check, in order (the store's listener adds them)."""
        self.violations: list[str] = []
        self.needs_retry: dict[str, None] = {}
        self.steps = 0
        self.sandbox.store.add_listener(self.committed)

    def committed(self, events: list[Event]) -> None:
        self.unchecked += events

    # ------------------------------------------------------------------ population

    def populate(self) -> None:
        sim, sandbox, rng = self.sim, self.sandbox, self.rng
        eligible = [sandbox.distributor().id for _ in range(sim.distributors)]
        ineligible: list[str] = []
        if sim.ineligible_share > 0:
            ineligible = [
                sandbox.distributor(edition=Edition.PROFESSIONAL).id,
                sandbox.distributor(addon_inactive=True).id,
                sandbox.distributor(service_manager=ServiceManagerState.INACTIVE).id,
                sandbox.distributor(product_missing=Plan.STANDARD).id,
            ]
        for _ in range(sim.resellers):
            disabled = False
            distributor = rng.choice(eligible)
            if rng.random() < sim.ineligible_share:
                if rng.random() < 0.5:
                    disabled = True
                else:
                    distributor = rng.choice(ineligible)
            account = sandbox.reseller(distributor, reselling_disabled=disabled)
            self.accounts.append(account.id)

    # ------------------------------------------------------------------ the run

    def run(self) -> SimulationReport:
        sim, sandbox, rng = self.sim, self.sandbox, self.rng
        self.populate()
        end = add_months(sim.start, sim.months)
        month_ends = [add_months(sim.start, m) for m in range(1, sim.months + 1)]
        plans_by_month: list[dict[str, int]] = []
        day = sim.start
        per_day = sim.activity * sim.resellers
        while day < end:
            next_day = min(day + dt.timedelta(days=1), end)
            count = int(per_day) + (rng.random() < per_day - int(per_day))
            hours = sorted(rng.randrange(24) for _ in range(count))
            for hour in hours:
                when = day + dt.timedelta(hours=hour)
                self.advance_to(max(when, sandbox.now()))
                self.step(rng.choice(self.accounts))
            self.staff_retries()
            while month_ends and month_ends[0] <= next_day:
                self.advance_to(max(month_ends[0], sandbox.now()))
                plans_by_month.append(self.plan_counts())
                month_ends.pop(0)
            self.advance_to(max(next_day, sandbox.now()), faults=True)
            day = next_day
        return self.finish(plans_by_month)

    def finish(self, plans_by_month: list[dict[str, int]]) -> SimulationReport:
        sim, sandbox = self.sim, self.sandbox
        sandbox.faults.clear()
        self.staff_retries()
        self.advance_to(sandbox.now())
        self.violations += sandbox.violations()
        store = sandbox.store
        awaiting = sum(1 for s in store.iter_subscriptions() if s.provisioning_failed)
        injected = sandbox.faults.injected
        return SimulationReport(
            seed=sim.seed,
            resellers=sim.resellers,
            distributors=len(sandbox.bss.distributors),
            months=sim.months,
            steps=self.steps,
            subscriptions=sum(store.census().values()),
            outcomes=dict(sorted(self.outcomes.items())),
            events=dict(sorted((cls.__name__, n) for cls, n in self.events.items())),
            plans_by_month=tuple(plans_by_month),
            emails_sent=sandbox.mailer.counts.total(),
            emails_by_kind=dict(sorted((k.value, n) for k, n in sandbox.mailer.kinds.items())),
            faults_injected=dict(sorted(injected.items())),
            restarts=sandbox.restarts,
            awaiting_retry=awaiting,
            violations=tuple(dict.fromkeys(self.violations)),
        )

    def plan_counts(self) -> dict[str, int]:
        counts = dict.fromkeys((p.value for p in Plan), 0)
        for (status, plan), n in self.sandbox.store.census().items():
            if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED):
                counts[plan.value] += n
        counts[Plan.BASIC.value] = self.sim.resellers - counts["free"] - counts["standard"]
        return counts

    # ------------------------------------------------------------------ time, faults, checks

    def advance_to(self, when: dt.datetime, *, faults: bool = False) -> None:
        """Advance the sandbox; with ``faults``, the due work on the way may meet one."""
        sandbox = self.sandbox
        if faults:
            self.inject(_DUE_OPS)
        try:
            try:
                sandbox.advance_to(when)
            except SimulatedCrash:
                self.outcomes["due_work.crashed"] += 1
                self.recover()
                sandbox.advance_to(max(when, sandbox.now()))
        except ResellerPlansError as exc:
            # The scheduler itself failed: a bug to report, not a reason to stop simulating.
            name = type(exc).__name__
            self.outcomes[f"due_work.{name}"] += 1
            self.violations.append(f"{sandbox.now().isoformat()}: run_due raised {name}: {exc}")
            if sandbox.now() < when:
                sandbox.clock.set(when)
        finally:
            sandbox.faults.clear()
        self.check(None)

    def inject(self, operations: tuple[str, ...]) -> None:
        sim, rng, faults = self.sim, self.rng, self.sandbox.faults
        if sim.faults and rng.random() < sim.fault_rate:
            op = rng.choice(operations)
            kind = rng.random()
            budget = self.sandbox.plans.retry_budget
            if op == "mailer.send" or kind < 0.4:
                faults.fail(op, times=rng.randint(1, max(1, budget - 1)))  # retried: succeeds
            elif kind < 0.55:
                faults.fail(op, times=budget)  # the budget is spent: waits for a retry
            elif kind < 0.8:
                faults.fail(op, permanent=True)
            else:
                faults.slow(op, dt.timedelta(seconds=rng.randint(1, 120)), times=1)
        if sim.crashes and rng.random() < sim.crash_rate:
            faults.crash(rng.choice(operations))

    def recover(self) -> None:
        """After a crash: the process restarts and its scheduler picks up where it was."""
        sandbox = self.sandbox
        sandbox.faults.clear()
        sandbox.restart()
        sandbox.advance()

    def check(self, account_id: str | None) -> None:
        """Check the accounts the last step touched (``account_id`` and those of the events
        committed since the last check); note which wait for a retry."""
        sandbox = self.sandbox
        touched: dict[str, None] = {} if account_id is None else {account_id: None}
        events, self.unchecked = self.unchecked, []
        self.events.update(map(type, events))
        account_of: dict[str, str] = {}  # of the subscriptions these events are about
        with sandbox.store.unit_of_work() as uow:
            for event in events:
                if isinstance(event, Renewed):
                    continue  # a renewal changes nothing an invariant looks at
                sid = event.subscription_id
                account = account_of.get(sid)
                if account is None:
                    sub = uow.get(sid)
                    if sub is None:
                        self.violations.append(f"{event.name} of {sid}: no such subscription")
                        continue
                    account = account_of[sid] = sub.account_id
                touched[account] = None
                if isinstance(event, ProvisioningFailed) and event.awaiting_retry:
                    self.needs_retry[account] = None
        if self.sim.check_every_step and touched:
            when = sandbox.now().isoformat()
            self.violations += [f"{when}: {v}" for v in sandbox.violations(touched)]

    def staff_retries(self) -> None:
        """The distributors' staff retry what failed (they got an email about each)."""
        pending, self.needs_retry = self.needs_retry, {}
        for account_id in pending:
            sub = self.sandbox.plans.subscription_of(account_id)
            if sub is not None and sub.provisioning_failed:
                self.command(account_id, "retry", sub)

    # ------------------------------------------------------------------ commands

    def step(self, account_id: str) -> None:
        sub = self.sandbox.plans.subscription_of(account_id)
        if sub is None:
            self.command(account_id, "upgrade", None)
            return
        rng = self.rng
        roll = rng.random()
        choices: tuple[tuple[float, str], ...]
        if sub.provisioning_failed:
            action = "retry" if roll < 0.8 else "cancel_now"
        elif sub.status is SubscriptionStatus.PENDING:
            return
        elif sub.status is SubscriptionStatus.SUSPENDED:
            action = "resume" if roll < 0.7 else "cancel_now"
        elif sub.pending_change is not None:
            choices = ((0.4, "withdraw"), (0.55, "cancel_at_term_end"), (0.7, "suspend"))
            action = next((a for p, a in choices if roll < p), "")
        elif sub.plan is Plan.FREE:
            choices = (
                (0.35, "upgrade_to_standard"),
                (0.5, "cancel_now"),
                (0.65, "cancel_at_term_end"),
                (0.8, "suspend"),
            )
            action = next((a for p, a in choices if roll < p), "")
        else:
            choices = (
                (0.25, "change_to_free"),
                (0.35, "change_to_free_now"),
                (0.5, "cancel_now"),
                (0.65, "cancel_at_term_end"),
                (0.8, "suspend"),
            )
            action = next((a for p, a in choices if roll < p), "")
        if action:
            self.command(account_id, action, sub)

    def command(self, account_id: str, action: str, sub: Subscription | None) -> None:
        sandbox = self.sandbox
        self.steps += 1
        self.inject(_OPS.get(action, ()) or _DUE_OPS)
        before = len(self.unchecked)
        try:
            result = self.issue(account_id, action, sub)
        except SimulatedCrash:
            outcome = "crashed"
            self.recover()
        except ResellerPlansError as exc:
            outcome = type(exc).__name__
        else:
            outcome = self.result(result, self.unchecked[before:])
        finally:
            sandbox.faults.clear()
        self.outcomes[f"{action}.{outcome}"] += 1
        self.check(account_id)

    @staticmethod
    def result(sub: Subscription, events: Sequence[Event]) -> str:
        if sub.provisioning_failed:
            return "awaiting_retry"
        failed = any(isinstance(e, ProvisioningFailed) and not e.awaiting_retry for e in events)
        return "rolled_back" if failed else "ok"

    def issue(self, account_id: str, action: str, sub: Subscription | None) -> Subscription:
        sandbox, rng = self.sandbox, self.rng
        plans = sandbox.plans
        distributor = sandbox.as_distributor(sandbox.bss.accounts[account_id].distributor_id)
        reseller = sandbox.as_reseller(account_id)
        anyone = distributor if rng.random() < 0.5 else reseller
        if action == "upgrade" or sub is None:
            plan = Plan.STANDARD if rng.random() < 0.6 else Plan.FREE
            alias = None
            if rng.random() < self.sim.collision_rate:
                other = sandbox.bss.accounts[rng.choice(self.accounts)]
                alias = str(other.alias)  # most likely another reseller's
            annual = rng.random() < self.sim.annual_share
            cycle = BillingCycle.ANNUAL if annual else BillingCycle.MONTHLY
            return sandbox.upgrade(
                account_id,
                plan,
                alias=alias,
                via=_CHANNELS[rng.random() < 0.5],
                billing_cycle=cycle,
                auto_renew=rng.random() < 0.9,
            )
        sid = sub.id
        if action == "retry":
            return plans.retry(sid, actor=distributor)
        if action == "resume":
            return plans.resume(sid, actor=distributor)
        if action == "suspend":
            return plans.suspend(sid, actor=distributor, reason="non-payment")
        if action == "cancel_now":
            return plans.cancel(sid, actor=anyone, timing=Timing.IMMEDIATE)
        if action == "cancel_at_term_end":
            return plans.cancel(sid, actor=anyone, timing=Timing.END_OF_TERM)
        if action == "withdraw":
            return plans.withdraw_change(sid, actor=anyone)
        if action == "upgrade_to_standard":
            return sandbox.upgrade(account_id, Plan.STANDARD, via=_CHANNELS[rng.random() < 0.5])
        if action == "change_to_free":
            return plans.change_plan(sid, Plan.FREE, actor=anyone)
        return plans.change_plan(sid, Plan.FREE, actor=anyone, timing=Timing.IMMEDIATE)
