"""A process killed at the crash points that leases and outbox claims brought: just after the
commit that took a lease, between a step's port call and the commit of its outcome (for every
step of every operation), and just after claiming a message (before or after the mailer took
it).

A killed process cannot unwind: from the crash on, its store and ports refuse every use, so the
``finally`` blocks that would give its lease back (or end its claim) do nothing, and its lease
and claim stay held. A new process over the same store finds the subscription busy until the
lease ends, then resumes it, and it ends as a run without a crash does: every invariant holds,
every backend write happened under the same idempotency keys (a write is repeated, with its key,
only when its outcome was lost), and every message went out, again with the same Message-ID only
when it may have left before the crash.

The crash points are counted by a probe (the same scenario in memory, without a crash); the
state is in a real SQLite file, and in PostgreSQL when RESELLER_PLANS_TEST_POSTGRES_DSN is set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from reseller_plans import Actor, LeaseSettings, Plan, ResellerPlans, SubscriptionBusy, Timing
from reseller_plans.domain import saga
from reseller_plans.domain.subscription import Subscription
from reseller_plans.ports import EmailMessage, Lease, Mailer, OutboxEntry, Store, UnitOfWork
from reseller_plans.stores.memory import InMemoryStore
from service_world import World, make_world
from store_kinds import store_fixture

OWN = Actor.distributor("D-100")
LEASES = LeaseSettings(
    lease=dt.timedelta(minutes=5),
    step_deadline=dt.timedelta(minutes=1),
    margin=dt.timedelta(seconds=10),
    busy_timeout=dt.timedelta(milliseconds=1),
    outbox_claim=dt.timedelta(minutes=2),
)
PROBED = frozenset(
    {"provision_license", "revoke_license", "deactivate_storefront", "suspend_storefront"}
    | {"resume_storefront", "place_order", "suspend_on_platform", "resume_on_platform"}
    | {"cancel_on_platform"}
)
"""Steps a takeover reads the backend for before running them again."""
READS = frozenset(
    {"get_distributor", "get_account", "list_resellers", "is_alias_free", "licensed_plan"}
    | {"storefront_status", "platform_status", "platform_subscriptions_of"}
)


class ProcessDied(BaseException):
    """The process was killed here. Not an ``Exception``: no handler of the library takes it."""


@attrs.define
class Process:
    """One process: where it dies (the n-th time it reaches a point), the points it passed."""

    crash: tuple[str, int] | None = None
    passed: list[tuple[str, str]] = attrs.field(factory=list)
    owners: set[str] = attrs.field(factory=set)
    dead: bool = False
    refused: int = 0
    """Uses refused after the crash (a ``finally`` giving the lease back, ending a claim)."""

    def alive(self) -> None:
        if self.dead:
            self.refused += 1
            raise ProcessDied("a killed process does nothing more")

    def reached(self, point: str, label: str) -> None:
        self.passed.append((point, label))
        number = sum(1 for p, _ in self.passed if p == point)
        if self.crash == (point, number):
            self.dead = True
            raise ProcessDied(f"killed at {point} {number} ({label})")


class SpyUnitOfWork:
    """A unit of work that notes what it did: took a new lease, renewed one, saved, claimed."""

    def __init__(self, inner: UnitOfWork, process: Process) -> None:
        self._inner, self._process = inner, process
        self.took = self.renewed = False
        self.saved: str | None = None
        self.claimed: OutboxEntry | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def take_lease(
        self, subscription_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> Lease | None:
        lease = self._inner.take_lease(subscription_id, owner, now=now, until=until)
        if lease is not None:
            self.renewed = self.renewed or owner in self._process.owners
            self.took = self.took or owner not in self._process.owners
            self._process.owners.add(owner)
        return lease

    def save(self, subscription: Subscription, events: Any, *, expected_version: int) -> None:
        stored = self._inner.get(subscription.id)
        step = None if stored is None else saga.next_step(stored)
        if stored is None or stored.operation is None or step is None:
            self.saved = "start" if subscription.operation else "renew"  # the term's
        else:
            self.saved = f"{stored.operation.kind.value}.{step.action.value}"
        self._inner.save(subscription, events, expected_version=expected_version)

    def claim_outbox(
        self, entry_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> OutboxEntry | None:
        claimed = self._inner.claim_outbox(entry_id, owner, now=now, until=until)
        self.claimed = claimed or self.claimed
        return claimed


class DyingStore:
    """The process's store: it dies after the commit that took a lease or claimed a message,
    or before the commit that records an outcome under a renewed lease (it rolls back)."""

    def __init__(self, inner: Store, process: Process) -> None:
        self.inner, self.process = inner, process

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        self.process.alive()
        with self.inner.unit_of_work() as uow:
            spy = SpyUnitOfWork(uow, self.process)
            yield spy  # type: ignore[misc]
            if spy.renewed and spy.saved is not None:
                self.process.reached("outcome", spy.saved)
        if spy.took:
            self.process.reached("lease", "taken")
        if spy.claimed is not None:
            self.process.reached("claim", spy.claimed.id)

    def close(self) -> None:
        self.inner.close()


class Port:
    """A backend as the process sees it: refused once it is dead; writes are noted (with
    their idempotency keys) once the backend performed them."""

    def __init__(self, inner: object, name: str, process: Process, effects: list[Any]) -> None:
        self._inner, self._name, self._process, self._effects = inner, name, process, effects

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        target = getattr(self._inner, operation)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._process.alive()
            result = target(*args, **kwargs)
            if operation not in READS:
                key = kwargs.get("idempotency_key")
                self._effects.append((f"{self._name}.{operation}", key or repr(args)))
            return result

        return call


class DyingMailer:
    """The mailer as the process sees it: it may die just after the mail server took one."""

    def __init__(self, inner: Mailer, process: Process) -> None:
        self.inner, self.process = inner, process

    def send(self, message: EmailMessage) -> None:
        self.process.alive()
        self.inner.send(message)
        self.process.reached("sent", message.message_id)


def start(world: World, store: Store, process: Process, effects: list[Any]) -> ResellerPlans:
    """A process over the world's backends and ``store``."""
    return ResellerPlans(
        bss=Port(world.bss, "bss", process, effects),  # type: ignore[arg-type]
        storefront=Port(world.storefront, "storefront", process, effects),  # type: ignore[arg-type]
        mailer=DyingMailer(world.mailer, process),
        store=DyingStore(store, process),
        clock=world.clock,
        new_id=lambda: f"sub_{next(world.ids)}",
        leases=LEASES,
    )


# --- the scenarios: one command (or run_due) of each operation -------------------------------


Step = Callable[[ResellerPlans, str | None], object]


@attrs.frozen
class Scenario:
    """``setup`` on a healthy process, then ``command`` (with an idempotency key) on the one
    that dies; ``again`` is the caller's retry, with the same key (default: the command)."""

    setup: Callable[[ResellerPlans], str | None]
    command: Step
    again: Step | None = None
    at_term_end: bool = False
    """The command is ``run_due`` at the end of the term (and so is the resumption)."""


def _active(p: ResellerPlans) -> str:
    return p.upgrade("3542", Plan.STANDARD, alias="techsol", actor=OWN).id


def _at_term_end(schedule: Step) -> Scenario:
    """``schedule`` (keyed) a change, which ``run_due`` applies at the end of the term."""

    def setup(p: ResellerPlans) -> str:
        sid = _active(p)
        schedule(p, sid)
        return sid

    return Scenario(setup, lambda p, s: p.run_due(p.get(s or "").term.end), schedule, True)


SCENARIOS: dict[str, Scenario] = {
    "activation-bss": Scenario(
        lambda p: None,
        lambda p, s: p.upgrade(
            "3542", Plan.STANDARD, alias="techsol", actor=OWN, idempotency_key="k"
        ),
    ),
    "activation-storefront": Scenario(
        lambda p: None,
        lambda p, s: p.upgrade(
            "3542", Plan.FREE, alias="techsol", actor=Actor.reseller("3542"), idempotency_key="k"
        ),
    ),
    "free-to-standard": Scenario(
        lambda p: p.upgrade("3542", Plan.FREE, alias="techsol", actor=OWN).id,
        lambda p, s: p.upgrade("3542", Plan.STANDARD, actor=OWN, idempotency_key="k"),
    ),
    "plan-change-now": Scenario(
        _active,
        lambda p, s: p.change_plan(
            s or "", Plan.FREE, actor=OWN, timing=Timing.IMMEDIATE, idempotency_key="k"
        ),
    ),
    "plan-change-at-term-end": _at_term_end(
        lambda p, s: p.change_plan(s or "", Plan.FREE, actor=OWN, idempotency_key="s")
    ),
    "suspension": Scenario(
        _active, lambda p, s: p.suspend(s or "", actor=OWN, reason="x", idempotency_key="k")
    ),
    "resumption": Scenario(
        lambda p: (s := _active(p), p.suspend(s, actor=OWN))[0],
        lambda p, s: p.resume(s or "", actor=OWN, idempotency_key="k"),
    ),
    "cancellation": Scenario(
        _active, lambda p, s: p.cancel(s or "", actor=OWN, idempotency_key="k")
    ),
    "cancellation-at-term-end": _at_term_end(
        lambda p, s: p.cancel(s or "", actor=OWN, timing=Timing.END_OF_TERM, idempotency_key="s")
    ),
}


@attrs.frozen
class Run:
    """What one run of a scenario did, from its command on."""

    passed: list[tuple[str, str]]
    effects: Counter[tuple[str, str]]
    messages: Counter[str]
    final: tuple[object, ...]


def _world(make_store: Callable[[], Store]) -> World:
    world = make_world(make_store)
    world.reseller("3542")
    return world


def _latest(plans: ResellerPlans) -> Subscription:
    """The account's latest subscription (cancelled ones included)."""
    with plans.store.unit_of_work() as uow:
        return uow.subscriptions_of("3542")[-1]


def _final(world: World, sub: Subscription) -> tuple[object, ...]:
    storefront = world.storefront.storefronts.get("3542")
    return (
        sub.id,
        sub.status,
        sub.plan,
        sub.operation,
        sub.pending_change,
        world.bss.licenses.get("3542"),
        None if storefront is None else attrs.astuple(storefront),
        dict(world.bss.subscriptions),
    )


def _resume(world: World, plans: ResellerPlans, at: dt.datetime | None) -> Subscription:
    """Once any lease has ended: run_due resumes what was left."""
    world.clock.advance(LEASES.lease + dt.timedelta(seconds=1))
    plans.run_due(max(world.clock.now(), at or world.clock.now()))
    return _latest(plans)


@functools.cache
def probe(name: str) -> Run:
    """The scenario without a crash, in memory: its crash points and how it ends."""
    scenario = SCENARIOS[name]
    world = _world(InMemoryStore)
    sid = scenario.setup(world.plans)
    at = world.plans.get(sid).term.end if scenario.at_term_end and sid else None
    sent, process, effects = Counter(world.mailer.counts), Process(), []
    plans = start(world, world.store, process, effects)
    scenario.command(plans, sid)
    passed = list(process.passed)
    sub = _resume(world, plans, at)
    return Run(passed, Counter(effects), world.mailer.counts - sent, _final(world, sub))


CASES = [
    pytest.param(name, point, number, id=f"{name}-{point}-{number}-{label}")
    for name in SCENARIOS
    for point in ("lease", "outcome", "claim", "sent")
    for number, label in enumerate((lb for p, lb in probe(name).passed if p == point), 1)
]


class _LookOnlyError(Exception):
    """Rolls a look back."""


def _held(store: Store, sid: str, now: dt.datetime) -> bool:
    """Whether another owner holds the subscription's lease (looked at, and rolled back)."""
    with contextlib.suppress(_LookOnlyError), store.unit_of_work() as uow:
        taken = uow.take_lease(sid, "an-onlooker", now=now, until=now + dt.timedelta(seconds=1))
        raise _LookOnlyError
    return taken is None


def _crash_and_resume(name: str, point: str, number: int, world: World) -> None:
    scenario, expected = SCENARIOS[name], probe(name)
    sid = scenario.setup(world.plans)
    at = world.plans.get(sid).term.end if scenario.at_term_end and sid else None
    world.store.close()
    sent, effects = Counter(world.mailer.counts), []

    dying = Process(crash=(point, number))
    doomed = world.make_store()
    with pytest.raises(ProcessDied):
        scenario.command(start(world, doomed, dying, effects), sid)
    assert dying.dead
    if point == "outcome":  # a driver's finally tried to give the lease back, and could not
        assert dying.refused
    doomed.close()  # the connection goes with the process: an open transaction rolls back
    label = dying.passed[-1][1]
    claimed = label if point in ("claim", "sent") else None
    # the backend performed the step whose outcome was lost: the resumer repeats it, same key,
    # unless a read shows it done (the license and the storefront: reconcile.probe_of)
    kind, _, action = label.rpartition(".")
    probed = action in PROBED or (action == "activate_storefront" and kind == "activation")
    repeated = point == "outcome" and action not in ("queue_email", "start", "renew") and not probed

    world.store = world.make_store()  # a new process over the same store
    plans = start(world, world.store, Process(), effects)
    sub = _latest(plans)
    now = world.clock.now()
    held = _held(world.store, sub.id, now)
    if point in ("lease", "outcome"):
        assert held, "the killed process's lease stays held until it ends"
    before = Counter(world.mailer.counts)
    report = plans.run_due(max(now, at or now))
    if point in ("lease", "outcome"):  # its work is due, but skipped
        assert report.busy == 1
    if held:
        with pytest.raises(SubscriptionBusy):
            (scenario.again or scenario.command)(plans, sid)  # the caller's retry
    if claimed is not None:  # not sent again while its claim lasts; then at once, lease or not
        assert world.mailer.counts == before
        world.clock.advance(LEASES.outbox_claim + dt.timedelta(seconds=1))
        plans.run_due(max(world.clock.now(), at or now))
        assert world.mailer.counts - before == Counter({claimed: 1})

    sub = _resume(world, plans, at)

    assert _final(world, sub) == expected.final, "it ends as the run without a crash does"
    problems = world.check_invariants()
    if point == "sent":  # it left before the crash, and goes again with the same Message-ID
        problems = [p for p in problems if not p.startswith("messages sent twice")]
    assert problems == []
    repeats = Counter(effects) - expected.effects
    assert set(effects) == set(expected.effects), "the same writes, under the same keys"
    assert sum(repeats.values()) == repeated, f"repeated: {repeats}"
    messages = world.mailer.counts - sent
    assert set(messages) == set(expected.messages), "no message lost, none added"
    twice = {m for m, n in messages.items() if n > 1}
    assert twice == ({claimed} if point == "sent" else set())
    assert all(n <= 2 for n in messages.values())


# Opens the store of one test, again for each process: a SQLite file, or a fresh PostgreSQL
# schema (dropped afterwards).
make_store = store_fixture("sqlite", "postgres")


@pytest.mark.parametrize(("name", "point", "number"), CASES)
def test_a_process_killed_at_a_crash_point_is_resumed_once_its_lease_ends(
    name: str, point: str, number: int, make_store: Callable[[], Store]
) -> None:
    world = _world(make_store)
    try:
        _crash_and_resume(name, point, number, world)
    finally:
        world.store.close()


def test_the_crash_points_cover_every_step_of_every_operation() -> None:
    covered = {label for name in SCENARIOS for p, label in probe(name).passed if p == "outcome"}
    every = {f"{k.value}.{a.value}" for k, steps in saga.OPERATION_STEPS.items() for a in steps}
    assert every <= covered
    for name in SCENARIOS:
        points = {p for p, _ in probe(name).passed}
        assert points == {"lease", "outcome", "claim", "sent"}, name
