"""Benchmark: one subscription state-machine transition, ours against the `transitions` library.

The same 6-event lifecycle (activate, suspend, resume, change plan, change plan, cancel) runs on
N subscriptions, side by side in one process, for several repeats:

- **ours**: ``lifecycle.apply`` on a fresh PENDING subscription each (no operation under way),
  with the guards, the events and a new frozen value per transition;
- **transitions, machine per object**: ``Machine(model=obj, ..., auto_transitions=False)``
  built for each subscription (the fast way to use it), bare states and triggers;
- **transitions, machine per object, guarded**: the same with conditions mirroring our guards
  (nothing in progress, no pending change, a legal plan) and the plan change applied;
- **transitions, shared machine**: one ``Machine`` and ``add_model`` per subscription, in
  batches (``add_model`` checks membership in a list, so registering n models costs O(n²):
  see the setup scaling printed at the end).

Setup (building subscriptions or machines) is outside the timed loop for every variant. Prints
microseconds per transition (median of the repeats), the ratios, and the memory per subscription
(tracemalloc) of ours. The bar (DESIGN.md): ≤ 5 µs per transition and ≥ 3x faster than
`transitions`.

Usage::

    python benchmarks/bench_lifecycle.py [--subscriptions N] [--repeats R] [--batch B]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

from transitions import Machine
from transitions import __version__ as transitions_version

from reseller_plans.domain import lifecycle
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus, Term

Trigger = lifecycle.Trigger
AT = dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC)
LIFECYCLE = (
    (Trigger.ACTIVATE, lifecycle.Context(at=AT)),
    (Trigger.SUSPEND, lifecycle.Context(at=AT, reason="non-payment")),
    (Trigger.RESUME, lifecycle.Context(at=AT)),
    (Trigger.CHANGE_PLAN, lifecycle.Context(at=AT, plan=Plan.FREE)),
    (Trigger.CHANGE_PLAN, lifecycle.Context(at=AT, plan=Plan.STANDARD)),
    (Trigger.CANCEL, lifecycle.Context(at=AT)),
)
EVENTS_PER_LIFECYCLE = len(LIFECYCLE)

# --- ours ----------------------------------------------------------------------------------


def fresh_subscriptions(start: int, count: int) -> list[Subscription]:
    """``count`` PENDING Standard subscriptions, each with its own ids, alias and term."""
    return [
        Subscription(
            id=f"SUB-{i:08d}",
            account_id=f"ACC-{i:08d}",
            distributor_id="D-100",
            plan=Plan.STANDARD,
            alias=StorefrontAlias(f"reseller{i}"),
            status=SubscriptionStatus.PENDING,
            term=Term.starting(AT + dt.timedelta(seconds=i)),
        )
        for i in range(start, start + count)
    ]


def run_ours(subs: Sequence[Subscription]) -> float:
    apply = lifecycle.apply
    events = LIFECYCLE
    started = time.perf_counter()
    for sub in subs:
        for trigger, context in events:
            sub = apply(sub, trigger, context).subscription  # noqa: PLW2901
    elapsed = time.perf_counter() - started
    assert sub.status is SubscriptionStatus.CANCELLED
    return elapsed


# --- transitions ---------------------------------------------------------------------------

STATES = ["pending", "active", "suspended", "cancelled", "failed"]
LIVE = ["pending", "active", "suspended"]
HELD = ["active", "suspended"]


def _rows(guarded: bool) -> list[dict[str, Any]]:
    """Our table in `transitions`' terms; ``guarded`` adds conditions like our guards."""

    def row(trigger: str, source: str | list[str], dest: str, *conditions: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"trigger": trigger, "source": source, "dest": dest}
        if guarded:
            spec["conditions"] = ["is_idle", *conditions]
            if trigger == "change_plan":
                spec["before"] = "set_plan"
        return spec

    return [
        row("activate", "pending", "active"),
        row("fail", "pending", "failed"),
        row("retry", LIVE, "="),
        row("cancel", LIVE, "cancelled"),
        row("suspend", "active", "suspended"),
        row("resume", "suspended", "active"),
        row("change_plan", "active", "=", "has_no_pending", "is_legal_plan"),
        row("schedule_plan_change", "active", "=", "has_no_pending", "is_legal_plan"),
        row("schedule_cancellation", HELD, "=", "has_no_pending"),
        row("withdraw_pending_change", HELD, "="),
        row("renew", HELD, "="),
        row("expire", HELD, "cancelled"),
    ]


class TransitionsSubscription:
    """A subscription as a `transitions` model: mutable, the machine sets ``state``."""

    def __init__(self, number: int) -> None:
        self.id = f"SUB-{number:08d}"
        self.plan = "standard"
        self.pending_change: object = None
        self.operation: object = None

    # Conditions and callbacks of the guarded variant.
    def is_idle(self, plan: str | None = None) -> bool:
        return self.operation is None

    def has_no_pending(self, plan: str | None = None) -> bool:
        return self.pending_change is None

    def is_legal_plan(self, plan: str | None = None) -> bool:
        return plan is not None and plan not in ("basic", self.plan)

    def set_plan(self, plan: str | None = None) -> None:
        self.plan = plan or self.plan


def per_object_models(
    start: int, count: int, rows: list[dict[str, Any]]
) -> list[TransitionsSubscription]:
    models = []
    for i in range(start, start + count):
        model = TransitionsSubscription(i)
        Machine(
            model=model,
            states=STATES,
            transitions=rows,
            initial="pending",
            auto_transitions=False,
        )
        models.append(model)
    return models


def run_transitions(models: Sequence[Any]) -> float:
    started = time.perf_counter()
    for m in models:
        m.activate()
        m.suspend()
        m.resume()
        m.change_plan(plan="free")
        m.change_plan(plan="standard")
        m.cancel()
    elapsed = time.perf_counter() - started
    assert m.state == "cancelled"
    return elapsed


# --- the runs ------------------------------------------------------------------------------

Setup = Callable[[int, int], Sequence[Any]]


def timed(setup: Setup, run: Callable[[Sequence[Any]], float], n: int, batch: int) -> float:
    """Seconds spent in ``run`` over ``n`` subscriptions built ``batch`` at a time."""
    total = 0.0
    for start in range(0, n, batch):
        objects = setup(start, min(batch, n - start))
        gc.collect()
        total += run(objects)
        del objects
    return total


def shared_machine_setup(rows: list[dict[str, Any]]) -> Setup:
    machine = Machine(
        model=None, states=STATES, transitions=rows, initial="pending", auto_transitions=False
    )

    def setup(start: int, count: int) -> Sequence[Any]:
        if machine.models:
            machine.remove_model(list(machine.models))
        models = [TransitionsSubscription(i) for i in range(start, start + count)]
        machine.add_model(models)
        return models

    return setup


def add_model_seconds(count: int) -> float:
    machine = Machine(
        model=None,
        states=STATES,
        transitions=_rows(False),
        initial="pending",
        auto_transitions=False,
    )
    models = [TransitionsSubscription(i) for i in range(count)]
    started = time.perf_counter()
    for model in models:
        machine.add_model(model)
    return time.perf_counter() - started


def bytes_per(build: Callable[[int], Sequence[Any]], count: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    objects = build(count)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(objects) == count
    return (after - before) / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ours vs transitions, per transition")
    parser.add_argument("--subscriptions", type=int, default=100_000, metavar="N")
    parser.add_argument("--repeats", type=int, default=5, metavar="R")
    parser.add_argument(
        "--batch", type=int, default=2_000, help="subscriptions built at a time (memory bound)"
    )
    args = parser.parse_args(argv)
    n, repeats, batch = args.subscriptions, args.repeats, args.batch
    transitions_count = n * EVENTS_PER_LIFECYCLE

    bare, guarded = _rows(False), _rows(True)
    variants: dict[str, tuple[Setup, Callable[[Sequence[Any]], float]]] = {
        "ours (lifecycle.apply)": (fresh_subscriptions, run_ours),
        "transitions, machine per object": (
            lambda s, c: per_object_models(s, c, bare),
            run_transitions,
        ),
        "transitions, machine per object, guarded": (
            lambda s, c: per_object_models(s, c, guarded),
            run_transitions,
        ),
        "transitions, shared machine (add_model)": (
            shared_machine_setup(bare),
            run_transitions,
        ),
    }
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"transitions {transitions_version}; {n:,} subscriptions x {EVENTS_PER_LIFECYCLE} events "
        f"= {transitions_count:,} transitions per repeat, {repeats} repeats, batches of {batch:,}"
    )
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for repeat in range(repeats):
        for name, (setup, run) in variants.items():  # interleaved: same conditions for each
            seconds = timed(setup, run, n, batch)
            samples[name].append(seconds / transitions_count * 1e6)
        print(f"  repeat {repeat + 1}/{repeats} done", file=sys.stderr)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    ours = medians["ours (lifecycle.apply)"]
    print()
    print(f"{'variant':<44} {'µs/transition':>14} {'min':>7} {'max':>7} {'vs ours':>8}")
    for name, median in medians.items():
        values = samples[name]
        print(
            f"{name:<44} {median:>14.2f} {min(values):>7.2f} {max(values):>7.2f} "
            f"{median / ours:>7.1f}x"
        )

    ours_bytes = bytes_per(lambda c: fresh_subscriptions(0, c), min(n, 20_000))
    machine_bytes = bytes_per(lambda c: per_object_models(0, c, bare), min(n, 2_000))
    print()
    print(f"memory per subscription, ours (fresh PENDING, own ids/alias/term): {ours_bytes:,.0f} B")
    print(
        f"memory per model + its own transitions Machine:                   {machine_bytes:,.0f} B"
    )

    print()
    print("transitions add_model setup (one shared machine), total seconds:")
    for count in (1_000, 2_000, 4_000, 8_000, 16_000):
        seconds = add_model_seconds(count)
        print(
            f"  {count:>6,} models: {seconds:7.3f} s  ({seconds / count * 1e6:7.1f} µs per model)"
        )

    fastest_theirs = min(v for k, v in medians.items() if k.startswith("transitions"))
    within_time = ours <= 5.0
    fast_enough = fastest_theirs / ours >= 3.0
    print()
    print(
        f"bar: ours {ours:.2f} µs <= 5 µs: {'PASS' if within_time else 'FAIL'}; "
        f"{fastest_theirs / ours:.1f}x the fastest transitions variant >= 3x: "
        f"{'PASS' if fast_enough else 'FAIL'}"
    )
    return 0 if within_time and fast_enough else 1


if __name__ == "__main__":
    raise SystemExit(main())
