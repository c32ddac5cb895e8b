"""A child process of the webhook races: ``setup`` a few subscriptions with their events, or
``deliver`` the feed to one endpoint with a ``WebhookNotifier`` of its own, pass after pass,
until a pass finds nothing to send (or PASSES passes, 200 by default).

usage: mp_webhooks.py setup STORE RESELLERS
       mp_webhooks.py deliver STORE URL SECRET CLAIM_SECONDS [PASSES]
STORE: sqlite:PATH or postgres:SCHEMA
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sys
import time

import attrs
from mp_resend import DISTI, store_of

from reseller_plans import Plan, ResellerAccount, ResellerPlans
from reseller_plans.testing.fakes import (
    FakeBSS,
    FakeClock,
    FakeStorefront,
    InMemoryMailer,
    sample_distributor,
)
from reseller_plans.webhooks import Endpoint, WebhookNotifier, WebhookSender, WebhookTally


def main(argv: list[str]) -> None:
    command, spec = argv[0], argv[1]
    store = store_of(spec)
    if command == "setup":
        bss = FakeBSS()
        bss.add_distributor(sample_distributor("D-100"))
        ids = itertools.count(1)
        plans = ResellerPlans(
            bss=bss, storefront=FakeStorefront(bss), mailer=InMemoryMailer(), store=store,
            clock=FakeClock(), new_id=lambda: f"sub_{next(ids)}",
        )  # fmt: skip
        for n in range(int(argv[2])):
            account = str(4000 + n)
            bss.add_account(ResellerAccount(account, "D-100", "R", f"o@{account}.example"))
            sub = plans.upgrade(account, Plan.STANDARD, alias=f"r{account}", actor=DISTI)
            plans.cancel(sub.id, actor=DISTI)
        print(len(plans.events(limit=10_000).events))
    else:
        url, secret, claim = argv[2], argv[3], float(argv[4])
        passes = int(argv[5]) if len(argv) > 5 else 200
        endpoint = Endpoint("crm", url, secret)
        total = WebhookTally()
        sender = WebhookSender(deadline=claim / 2)  # an attempt never outlives its claim
        with WebhookNotifier(
            [endpoint], sender=sender, claim_for=dt.timedelta(seconds=claim)
        ) as notifier:
            for _ in range(passes):
                tally = notifier.deliver_due(store)
                total += tally
                if tally.delivered == tally.elsewhere == tally.retrying == 0:
                    break
                if tally.delivered == 0:
                    time.sleep(0.05)  # the other process is sending: look again in a moment
        sender.close()
        print(json.dumps(attrs.asdict(total)))
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
