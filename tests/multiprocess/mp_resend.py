"""A child process of the resend race: ``setup`` a message (refused for good, or waiting),
``resend`` it, or ``run-due``; its mailer records each delivery in a shared file, then holds the
send open (a marker file says it is in the middle of it) until the test lets it go on.

usage: mp_resend.py setup STORE failed|waiting
       mp_resend.py resend STORE MESSAGE FOLDER
       mp_resend.py run-due STORE FOLDER
STORE: sqlite:PATH or postgres:SCHEMA
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path

from reseller_plans import Actor, ConcurrentUpdate, Plan, ResellerAccount, ResellerPlans
from reseller_plans.ports import EmailMessage, Store
from reseller_plans.stores.postgres import PostgresStore
from reseller_plans.stores.sqlite import SQLiteStore
from reseller_plans.testing.fakes import (
    FakeBSS,
    FakeClock,
    FakeStorefront,
    InMemoryMailer,
    sample_distributor,
)
from reseller_plans.testing.faults import Faults

DISTI = Actor.distributor("D-100")


def store_of(spec: str) -> Store:
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        return SQLiteStore(where)
    return PostgresStore(os.environ["RESELLER_PLANS_TEST_POSTGRES_DSN"], schema=where)


class HeldMailer:
    """Records the delivery, then holds the send open until ``go`` exists."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        with (self.folder / "deliveries").open("a") as log:
            log.write(f"{os.getpid()} {message.message_id}\n")
        (self.folder / f"sending-{os.getpid()}").touch()
        deadline = time.monotonic() + 30
        while not (self.folder / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.01)


def plans(store: Store, mailer: object, faults: Faults | None = None) -> ResellerPlans:
    faults = faults or Faults()
    bss = FakeBSS(faults)
    bss.add_distributor(sample_distributor("D-100"))
    bss.add_account(ResellerAccount("3542", "D-100", "Reseller", "owner@3542.example"))
    ids = itertools.count(1)
    return ResellerPlans(
        bss=bss, storefront=FakeStorefront(bss, faults), mailer=mailer,  # type: ignore[arg-type]
        store=store, clock=FakeClock(), new_id=lambda: f"sub_{next(ids)}",
    )  # fmt: skip


def main(argv: list[str]) -> None:
    command, spec = argv[0], argv[1]
    store = store_of(spec)
    if command == "setup":
        faults = Faults()
        faults.fail("mailer.send", times=None, permanent=argv[2] == "failed")
        setup = plans(store, InMemoryMailer(faults), faults)
        setup.upgrade("3542", Plan.STANDARD, alias="techsolutions", actor=DISTI)
        (message,) = setup.messages(status=argv[2])
        print(message.id)
    elif command == "resend":
        try:
            entry = plans(store, HeldMailer(Path(argv[3]))).resend(argv[2], actor=DISTI)
        except ConcurrentUpdate as exc:
            print(json.dumps({"refused": str(exc)}))
        else:
            print(json.dumps({"status": entry.status.value}))
    else:
        report = plans(store, HeldMailer(Path(argv[2]))).run_due()
        print(json.dumps({"sent": report.emails_sent}))
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
