"""examples/webhook_receiver.py runs as shipped: it accepts a signed delivery once, answers a
repeat without acting twice, and refuses a tampered one."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import httpx

from reseller_plans import Plan
from reseller_plans.service import ResellerPlans
from reseller_plans.webhooks import (
    Endpoint,
    WebhookNotifier,
    WebhookSecret,
    WebhookSender,
    build_request,
    render_envelope,
)
from service_world import make_world

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "webhook_receiver.py"


def test_the_example_receiver_verifies_dedupes_and_refuses() -> None:
    secret = WebhookSecret.generate()
    env = {**os.environ, "WEBHOOK_SECRET": secret.reveal()}
    # Our interpreter and the example's fixed path.
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, str(EXAMPLE), "--port", "0", "--max-requests", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("listening on ")
        endpoint = Endpoint("example", url, secret)
        now = dt.datetime.now(dt.UTC)
        body = render_envelope("evt_42", "subscription.activated", now, {"plan": "standard"})
        with WebhookSender() as sender:
            first = sender.deliver(endpoint, "evt_42", body)
            repeat = sender.deliver(endpoint, "evt_42", body)
        request = build_request(endpoint, "evt_43", body, at=now)
        changed = body.replace(b"standard", b"free")  # on the way, after it was signed
        tampered = httpx.post(url, content=changed, headers=dict(request.headers), timeout=10)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait(timeout=10)

    assert (first.status, repeat.status, tampered.status_code) == (204, 204, 400)
    assert process.returncode == 0, err
    assert err == ""
    assert out.splitlines() == [
        f"subscription.activated evt_42 at {now.isoformat().replace('+00:00', 'Z')}: "
        "{'plan': 'standard'}",
        "evt_42: a repeat, not acted on again",
        "refused (bad_signature): no signature matches: the body, id or timestamp was changed, "
        "or it was signed with another secret",
    ]


def test_the_example_receiver_asks_for_its_secret() -> None:
    env = {key: value for key, value in os.environ.items() if key != "WEBHOOK_SECRET"}
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(EXAMPLE), "--port", "0"],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip

    assert completed.returncode == 2
    assert "set WEBHOOK_SECRET to the endpoint's whsec_ secret" in completed.stderr


def test_run_due_delivers_the_feed_to_the_example_receiver() -> None:
    secret = WebhookSecret.generate()
    world = make_world()
    world.reseller("3542")
    world.clock.set(dt.datetime.now(dt.UTC))  # the example checks timestamps on its own clock
    world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    types = [e.type for e in world.plans.events().events]
    env = {**os.environ, "WEBHOOK_SECRET": secret.reveal()}
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, str(EXAMPLE), "--port", "0", "--max-requests", str(len(types))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("listening on ")
        with WebhookNotifier([Endpoint("example", url, secret)]) as notifier:
            plans = ResellerPlans(
                bss=world.bss, storefront=world.storefront, mailer=world.mailer,
                store=world.store, clock=world.clock, webhooks=notifier,
            )  # fmt: skip
            report = plans.run_due()
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait(timeout=10)

    assert report.webhooks_delivered == len(types)
    assert (process.returncode, err) == (0, "")
    assert [line.split()[0] for line in out.splitlines()] == types  # verified, in order
