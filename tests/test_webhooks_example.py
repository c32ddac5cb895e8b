"""examples/webhook_receiver.py runs as shipped: it accepts a signed delivery once, answers a
repeat without acting twice, and refuses a tampered one."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import httpx

from reseller_plans.webhooks import (
    Endpoint,
    WebhookSecret,
    WebhookSender,
    build_request,
    render_envelope,
)

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
