"""Render ``docs/lifecycle.md`` from the code: the lifecycle table, the saga's steps and their
compensations. The committed page must equal what this renders (a test checks it).

Usage::

    python scripts/render_lifecycle_docs.py           # rewrite docs/lifecycle.md
    python scripts/render_lifecycle_docs.py --check   # exit 1 when the page is out of date

The compensations are not copied from a private table: they are read off the saga itself, by
failing each step for good and recording every undo step it then runs. Undoing the steps
``[0, i]`` runs the undo steps of step ``i`` first, then those of the steps before it, so the
undo steps of step ``i`` are what undoing ``[0, i]`` runs beyond what undoing ``[0, i - 1]`` runs
(a step may be undone by several steps, or by none).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import attrs

from reseller_plans.domain import lifecycle, saga
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import (
    Channel,
    Operation,
    OperationKind,
    StepAction,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    Term,
)

DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"

K = OperationKind
S = SubscriptionStatus
_AT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

# Where each operation starts from, and with which plans, to read its compensations.
_STARTS: dict[OperationKind, tuple[SubscriptionStatus, Plan, Plan | None]] = {
    K.ACTIVATION: (S.PENDING, Plan.STANDARD, None),
    K.PLAN_CHANGE: (S.ACTIVE, Plan.FREE, Plan.STANDARD),
    K.SUSPENSION: (S.ACTIVE, Plan.STANDARD, None),
    K.RESUMPTION: (S.SUSPENDED, Plan.STANDARD, None),
    K.CANCELLATION: (S.ACTIVE, Plan.STANDARD, None),
}

_STATUS_MEANING = {
    S.PENDING: "the upgrade was ordered; its activation is under way (the reseller is on Basic)",
    S.ACTIVE: "the reseller is on the plan",
    S.SUSPENDED: "the distributor suspended it (for example for non-payment); the plan is kept",
    S.CANCELLED: "cancelled or expired; the reseller is back on Basic",
    S.FAILED: "the activation could not be completed and was rolled back",
}
_SYNC_MEANING = {
    SyncStatus.NOT_STARTED: "a step of the operation that has not run yet",
    SyncStatus.IN_PROGRESS: "the operation (or step) is running",
    SyncStatus.SYNCHRONIZED: "done; with no operation under way the subscription is synchronized",
    SyncStatus.FAILED: "a step failed and the operation waits for `retry` (or a cancellation)",
}


def _operation(sub: Subscription) -> Operation:
    if sub.operation is None:  # pragma: no cover - saga.start always attaches one
        raise RuntimeError("saga.start attached no operation")
    return sub.operation


def _started(kind: OperationKind, *, platform_initiated: bool = False) -> Subscription:
    status, plan, target = _STARTS[kind]
    sub = Subscription(
        id="SUB-DOC",
        account_id="ACCOUNT-DOC",
        distributor_id="D-DOC",
        plan=plan,
        alias=None,
        status=status,
        term=Term.starting(_AT),
        channel=Channel.BSS,
        platform_subscription_id="PLATFORM-DOC",
    )
    return saga.start(sub, kind, plan=target, platform_initiated=platform_initiated)


def _undoing(kind: OperationKind, done: int) -> tuple[StepAction, ...] | None:
    """The undo steps that run, in order, when the steps ``[0, done)`` are done and the next one
    fails for good (None when no step follows them, so nothing can fail after them)."""
    context = lifecycle.Context(at=_AT)
    sub = _started(kind)
    for _ in range(done):
        step = saga.next_step(sub)
        if step is None or step.compensation:  # pragma: no cover - done <= len(steps)
            raise RuntimeError(f"{kind.value} stopped before step {done}")
        sub = saga.record(sub, step, saga.Outcome.done(), context).subscription
    step = saga.next_step(sub)
    if step is None:  # all done: the operation is over
        return None
    sub = saga.record(sub, step, saga.Outcome.permanent("x"), context).subscription
    undone: list[StepAction] = []
    while (step := saga.next_step(sub)) is not None:
        if not step.compensation:  # pragma: no cover - a compensable operation undoes
            raise RuntimeError(f"{kind.value} went on after a permanent failure")
        undone.append(step.action)
        sub = saga.record(sub, step, saga.Outcome.done(), context).subscription
    return tuple(undone)


def _undo_of_each_step(kind: OperationKind) -> list[tuple[StepAction, ...]]:
    """For each step, the steps that undo it, in the order they run (none when nothing does)."""
    steps = saga.OPERATION_STEPS[kind]
    if kind not in saga.COMPENSABLE:
        return [()] * len(steps)
    undo: list[tuple[StepAction, ...]] = []
    before: tuple[StepAction, ...] = ()  # what undoing the steps before this one runs
    for index in range(len(steps)):
        undoing = _undoing(kind, index + 1)
        if undoing is None:  # the last step: nothing runs after it to fail
            undo.append(())
            continue
        own = len(undoing) - len(before)
        if own < 0 or undoing[own:] != before:  # pragma: no cover - the saga's contract
            raise RuntimeError(f"undoing {kind.value} does not run in reverse order of steps")
        undo.append(undoing[:own])
        before = undoing
    return undo


# Why each step's undo gives the Storefront Alias back (a step not named here gets a plain
# "after undoing `step`").
_RELEASE_REASONS = {
    StepAction.HOLD_ALIAS: "for the hold",
    StepAction.PLACE_ORDER: (
        "after its platform order is cancelled, since the order line carried the alias too"
    ),
}


def _alias_lines(kind: OperationKind, undo: list[tuple[StepAction, ...]]) -> list[str]:
    """Words on the Storefront Alias, for an operation whose steps hold it (read off its steps
    and their undo steps)."""
    steps = saga.OPERATION_STEPS[kind]
    if StepAction.HOLD_ALIAS not in steps:
        return []
    after = steps.index(StepAction.HOLD_ALIAS) + 1
    then = f" just before `{steps[after].value}`" if after < len(steps) else ""
    name = kind.value.replace("_", " ")
    article = "An" if name[0] in "aeiou" else "A"
    line = (
        f"{article} {name} holds the reseller's Storefront Alias "
        f"(`{StepAction.HOLD_ALIAS.value}`){then}."
    )
    # Undoing runs the undo steps of the later steps first.
    releases = [
        step
        for step, undos in reversed(list(zip(steps, undo, strict=True)))
        if StepAction.RELEASE_ALIAS in undos
    ]
    if releases:
        reasons = [
            ("once " if i == 0 else "once more ")
            + _RELEASE_REASONS.get(step, f"after undoing `{step.value}`")
            for i, step in enumerate(releases)
        ]
        times = {1: "", 2: " twice over"}.get(len(releases), f" {len(releases)} times over")
        line += (
            f" Undoing the {name} gives the alias back (`{StepAction.RELEASE_ALIAS.value}`)"
            f"{times}: {', and '.join(reasons)}. Releasing an alias that is not held does nothing."
        )
    return ["", line]


def _operation_section(kind: OperationKind) -> list[str]:
    steps = saga.OPERATION_STEPS[kind]
    platform_steps = _operation(_started(kind, platform_initiated=True))
    skipped = [s.value for s in steps if s not in platform_steps.steps]
    lines = [f"### {kind.value.replace('_', ' ').capitalize()}", ""]
    if kind in saga.COMPENSABLE:
        lines.append(
            "Compensable: a permanent failure runs the undo steps of the done steps in reverse "
            "order, then the operation ends failed"
            + (
                " and the subscription becomes `failed`."
                if kind is K.ACTIVATION
                else " and the subscription stays on its previous plan and status."
            )
        )
    else:
        lines.append(
            "Not compensable: the provisioning side goes first and the platform last, so a "
            "failure (transient or permanent) waits for `retry` instead of undoing anything."
        )
    op = _operation(_started(kind))
    messages = {saga.message_for(op)}
    if kind is K.PLAN_CHANGE:  # the message depends on the direction of the move
        messages.add(
            saga.message_for(attrs.evolve(op, plan=op.previous_plan, previous_plan=op.plan))
        )
    shown = " or ".join(f"`{m.value}`" for m in sorted(messages, key=lambda m: m.value))
    lines += ["", f"Its email to the reseller: {shown}."]
    undo_of_each_step = _undo_of_each_step(kind)
    lines += _alias_lines(kind, undo_of_each_step)
    if skipped:
        lines += [
            "",
            "When the platform itself asked for it, the steps on the platform are left out: "
            + ", ".join(f"`{s}`" for s in skipped)
            + ".",
        ]
    if any(len(undo) > 1 for undo in undo_of_each_step):
        lines += [
            "",
            "A step undone by several steps runs them in the order listed.",
        ]
    lines += ["", "| # | step | undone by |", "| --- | --- | --- |"]
    for number, (step, undo) in enumerate(zip(steps, undo_of_each_step, strict=True), 1):
        shown = ", then ".join(
            f"`{a.value}`" + (" (of the previous plan)" if a is step else "") for a in undo
        )
        lines.append(f"| {number} | `{step.value}` | {shown or '—'} |")
    return [*lines, ""]


def render() -> str:
    """The whole page, as committed in ``docs/lifecycle.md``."""
    lines = [
        "# The subscription lifecycle",
        "",
        "<!-- Generated by scripts/render_lifecycle_docs.py from "
        "reseller_plans.domain.lifecycle and reseller_plans.domain.saga; do not edit. -->",
        "",
        "A reseller-plan subscription (Free or Standard) has **two statuses**, as on the platform.",
        "",
        "The **business status** says where the subscription is in its life. Its moves are the",
        "table `lifecycle.TRANSITIONS`; anything not in the table raises `IllegalTransition`.",
        "",
        "| status | meaning | final |",
        "| --- | --- | --- |",
    ]
    for status in SubscriptionStatus:
        final = "yes" if status in lifecycle.FINAL_STATES else "no"
        lines.append(f"| `{status.value}` | {_STATUS_MEANING[status]} | {final} |")
    lines += [
        "",
        "The **provisioning (sync) status** says whether the provisioning side (plan license,",
        "the reseller's Storefront, emails, the platform) is in line with it. Every change that",
        "needs the provisioning side runs as an *operation*: a fixed list of steps that the",
        "sans-IO saga (`reseller_plans.domain.saga`) names one at a time.",
        "",
        "| sync status | meaning |",
        "| --- | --- |",
    ]
    lines += [f"| `{s.value}` | {_SYNC_MEANING[s]} |" for s in SyncStatus]
    lines += [
        "",
        "## Rules",
        "",
        "- At most one pending change (a scheduled plan change or cancellation); another change",
        "  is refused with `ChangePending` until it applies or is withdrawn.",
        "- While an operation is in progress, nothing else is allowed; while its provisioning has",
        "  failed, only `retry` and `cancel` are.",
        "- A term end renews the subscription when auto-renew is on, and otherwise expires it",
        "  (a cancellation that records `Expired`).",
        "- `cancelled` and `failed` are final: no transition leaves them.",
        "",
        "## The state machine",
        "",
        "Generated by `lifecycle.mermaid_diagram()`. Self-loops are changes that keep the",
        "status (plan changes, scheduling, renewal, retry).",
        "",
        "```mermaid",
        lifecycle.mermaid_diagram().rstrip("\n"),
        "```",
        "",
        "## Operations and their steps",
        "",
        "Each step is done, fails transiently (the operation waits for `retry`, then resumes at",
        "the same step) or fails permanently. Emails always go last, so they never need undoing.",
        "An operation's last step applies its business transition.",
        "",
    ]
    for kind in OperationKind:
        lines += _operation_section(kind)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when the page is stale")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        current = DOCS_PAGE.read_text(encoding="utf-8") if DOCS_PAGE.exists() else ""
        if current != page:
            sys.stderr.write(f"{DOCS_PAGE} is out of date: run {Path(__file__).name}\n")
            return 1
        return 0
    DOCS_PAGE.parent.mkdir(parents=True, exist_ok=True)
    DOCS_PAGE.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
