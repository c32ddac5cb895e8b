"""One child process of a multi-process test: ``python mp_worker.py '<json settings>'``.

It builds its own ``ResellerPlans`` (the public API) over the shared store and the file-backed
backends of ``mp_backend``, then plays one role:

- ``worker``: once the ``go`` file exists, call ``run_due()`` until a run finds nothing to do
  (and, with ``until``, not before that file exists);
- ``commands``: issue each ``[subscription_id, command]`` until it is carried out (with
  ``keyed``, under an idempotency key naming it), counting the attempts that met a busy
  subscription (``SubscriptionBusy``) or an operation still in progress;
- ``command``: issue one command once and report how it ended (and how long it took).

It writes what it did to ``result`` as JSON. The settings: ``store`` (``{"kind": "sqlite",
"path": …}`` or ``{"kind": "postgres", "dsn": …, "schema": …}``), ``recorder``, ``latency``
(seconds a backend call takes), ``count`` (accounts), ``leases`` (``LeaseSettings`` fields in
seconds), ``clock_offset`` (seconds this process's clock is ahead of real time).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from mp_backend import Backend, FileBSS, FileMailer, FileStorefront

from reseller_plans import (
    Actor,
    IllegalTransition,
    LeaseSettings,
    Plan,
    ResellerPlans,
    SQLiteStore,
    SubscriptionBusy,
)
from reseller_plans.domain.errors import ConcurrentUpdate
from reseller_plans.ports import Store
from reseller_plans.stores.postgres import PostgresStore

ACTOR = Actor.distributor("D-100")


class OffsetClock:
    """The real clock, ``offset`` ahead: a process whose leases of others have ended."""

    def __init__(self, offset: float) -> None:
        self.offset = dt.timedelta(seconds=offset)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def open_store(spec: dict[str, Any]) -> Store:
    if spec["kind"] == "sqlite":
        return SQLiteStore(spec["path"])
    return PostgresStore(spec["dsn"], schema=spec["schema"])


def build(settings: dict[str, Any]) -> tuple[ResellerPlans, Backend]:
    backend = Backend(
        settings["recorder"], latency=settings.get("latency", 0.0), name=settings.get("name", "")
    )
    bss = FileBSS(backend, settings["count"])
    leases = LeaseSettings(**{k: dt.timedelta(seconds=v) for k, v in settings["leases"].items()})
    plans = ResellerPlans(
        bss=bss,
        storefront=FileStorefront(bss),
        mailer=FileMailer(backend),
        store=open_store(settings["store"]),
        clock=OffsetClock(settings.get("clock_offset", 0.0)),
        leases=leases,
    )
    return plans, backend


def wait_for(path: str | None) -> None:
    while path and not Path(path).exists():
        time.sleep(0.002)


def work(plans: ResellerPlans, settings: dict[str, Any]) -> dict[str, Any]:
    wait_for(settings.get("go"))
    until = settings.get("until")
    totals = {"runs": 0, "subscriptions": 0, "emails_sent": 0, "busy": 0}
    failures: list[str] = []
    while True:
        finished = until is None or Path(until).exists()  # read before the run, not after
        report = plans.run_due()
        totals["runs"] += 1
        totals["subscriptions"] += report.subscriptions
        totals["emails_sent"] += report.emails_sent
        totals["busy"] += report.busy
        failures += [f"{f.subscription_id}: {f.error}" for f in report.failures]
        idle = report.subscriptions == 0 and report.emails_sent == 0 and report.busy == 0
        if idle and finished:
            break
        if idle:
            time.sleep(0.005)
    return totals | {"failures": failures}


def issue(plans: ResellerPlans, subscription_id: str, command: str, keyed: bool = False) -> None:
    """Issue the command; ``keyed``: with an idempotency key naming it, as a retried request
    does (a second issuer of it then replays the first, under the lease)."""
    key = f"{command}:{subscription_id}" if keyed else None
    if command == "cancel":
        plans.cancel(subscription_id, actor=ACTOR, idempotency_key=key)
    elif command == "change_plan":
        plans.change_plan(subscription_id, Plan.STANDARD, actor=ACTOR, idempotency_key=key)
    elif command == "suspend":
        plans.suspend(subscription_id, actor=ACTOR, reason="non-payment", idempotency_key=key)
    else:
        raise ValueError(command)


def commands(plans: ResellerPlans, settings: dict[str, Any]) -> dict[str, Any]:
    """Each command until it is carried out: a busy subscription, or one still pending or with
    an operation in progress, is tried again (a busy attempt changed nothing); another refusal
    ends it."""
    wait_for(settings.get("go"))
    busy = in_progress = conflicts = 0
    done: list[str] = []
    refused: dict[str, str] = {}
    deadline = time.monotonic() + settings.get("deadline", 60.0)
    for subscription_id, command in settings["commands"]:
        while time.monotonic() < deadline:
            try:
                issue(plans, subscription_id, command, settings.get("keyed", False))
            except SubscriptionBusy:
                busy += 1
                time.sleep(0.005)
            except ConcurrentUpdate:  # changed between its read and its commit: read again
                conflicts += 1
            except IllegalTransition as exc:
                if "in progress" not in str(exc) and "is pending" not in str(exc):
                    refused[subscription_id] = f"{type(exc).__name__}: {exc}"
                    break
                in_progress += 1
                time.sleep(0.005)
            else:
                done.append(subscription_id)
                break
        else:
            refused[subscription_id] = "still in progress at the deadline"
    return {
        "busy": busy, "in_progress": in_progress, "conflicts": conflicts, "done": done,
        "refused": refused,
    }  # fmt: skip


def command(plans: ResellerPlans, settings: dict[str, Any]) -> dict[str, Any]:
    subscription_id, name = settings["command"]
    started = time.monotonic()
    try:
        issue(plans, subscription_id, name)
    except Exception as exc:
        outcome = type(exc).__name__
    else:
        outcome = "done"
    return {"outcome": outcome, "elapsed": time.monotonic() - started}


ROLES = {"worker": work, "commands": commands, "command": command}


def main(argv: list[str]) -> int:
    settings = json.loads(argv[1])
    plans, backend = build(settings)
    try:
        result = ROLES[settings["role"]](plans, settings)
    finally:
        plans.close()
        backend.close()
    result["pid"] = os.getpid()
    Path(settings["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
