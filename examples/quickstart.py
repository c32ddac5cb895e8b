"""Quickstart: the README's Quickstart, as a script.

A distributor checks that its reseller 3542 may have the Standard plan, upgrades it (the plan
license, the reseller's own Storefront under the alias ``techsolutions``, the welcome email), then
asks for Free at the end of the term; its scheduler's ``run_due()`` applies that change once it is
due. The BSS and the Storefront are the emulator's, on loopback, reached through the real HTTP
adapters; the emails are printed. Run it with ``python examples/quickstart.py`` (the ``server``
extra brings the emulator). ``tests/test_examples.py`` keeps it equal to the README's code.
"""

from reseller_plans import Actor, Plan, ResellerPlans, SQLiteStore
from reseller_plans.bss import BSSClient
from reseller_plans.mail import ConsoleMailer
from reseller_plans.storefront import StorefrontClient
from reseller_plans.testing.emulator import serve_emulator

with serve_emulator() as platform:  # the BSS and the Storefront, emulated on 127.0.0.1
    bss = BSSClient(
        platform.url,
        client_key="demo-client-key",
        client_secret="demo-client-secret",
        username="api-user@disti.example",
        password="demo-password",
    )
    storefront = StorefrontClient(platform.url, api_key="demo-storefront-api-key")
    with bss, storefront:
        plans = ResellerPlans(
            bss=bss,
            storefront=storefront,
            mailer=ConsoleMailer(),  # prints each email; SMTPMailer sends it
            store=SQLiteStore(":memory:"),  # a file in production
        )
        distributor = Actor.distributor("100")

        print(plans.check("3542", Plan.STANDARD, actor=distributor, alias="techsolutions"))

        sub = plans.upgrade(
            "3542",
            Plan.STANDARD,
            alias="techsolutions",
            actor=distributor,
            idempotency_key="crm-4711",
        )  # license, storefront, welcome email
        print(f"{sub.id}: {sub.status.value} on {sub.plan.title}")

        sub = plans.change_plan(sub.id, Plan.FREE, actor=distributor)
        change = sub.pending_change
        print(f"{change.plan.title} from {change.effective_at:%Y-%m-%d}, the end of the term")

        report = plans.run_due()  # from your scheduler: applies the change once it is due
        print(f"due now: {report.subscriptions}; plan now: {plans.plan_of('3542').title}")
