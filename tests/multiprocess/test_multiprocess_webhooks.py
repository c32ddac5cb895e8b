"""Webhook deliveries from real processes over one SQLite file and one PostgreSQL schema: two
notifiers racing deliver every event exactly once, in order per subscription; a notifier
SIGKILLed mid-attempt leaves its claim to run out, and the next one delivers the same event,
with the same id, then the rest in order."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from mp_resend import store_of

from reseller_plans.webhooks import WebhookSecret, verify
from webhook_world import LoopbackReceiver, Received

CHILD = Path(__file__).with_name("mp_webhooks.py")
DSN = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")


@pytest.fixture
def receiver() -> Iterator[LoopbackReceiver]:
    receiving = LoopbackReceiver()
    yield receiving
    receiving.close()


def _setup(store: str, resellers: int) -> None:
    """Upgrade and cancel that many resellers: their events wait in the feed."""
    subprocess.run(  # noqa: S603 - our own child script
        [sys.executable, str(CHILD), "setup", store, str(resellers)], capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own child script
        [sys.executable, str(CHILD), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _finish(child: subprocess.Popen[str]) -> dict[str, int]:
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    tally: dict[str, int] = json.loads(out)
    return tally


def _feed(spec: str) -> dict[str, list[str]]:
    """Each subscription's event ids, in the feed's order."""
    store = store_of(spec)
    try:
        with store.unit_of_work() as uow:
            events = uow.events_after(None, 10_000)
    finally:
        store.close()
    lines: dict[str, list[str]] = {}
    for item in events:
        lines.setdefault(item.event.subscription_id, []).append(item.id)
    return lines


def _lines(received: list[Received]) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {}
    for request in received:
        sub = json.loads(request.body)["data"]["subscription_id"]
        lines.setdefault(sub, []).append(request.webhook_id)
    return lines


def test_two_notifiers_racing_deliver_every_event_exactly_once_in_order(
    store: str, receiver: LoopbackReceiver
) -> None:
    _setup(store, 6)
    feed = _feed(store)
    secret = WebhookSecret.generate()
    receiver.delay = 0.005  # slow enough that the two overlap all along
    args = ("deliver", store, receiver.url, secret.reveal(), "120")

    first, second = _child(*args), _child(*args)
    tallies = [_finish(first), _finish(second)]

    delivered = receiver.delivered()
    counts = Counter(r.webhook_id for r in delivered)
    assert sum(len(ids) for ids in feed.values()) == len(counts)
    assert set(counts.values()) == {1}  # exactly once: no claim ran out
    assert _lines(delivered) == feed  # in order per subscription
    assert all(t["delivered"] > 0 for t in tallies), tallies  # both did some of the work
    assert sum(t["delivered"] for t in tallies) == len(delivered)
    assert sum(t["ingested"] for t in tallies) == len(delivered)  # ingested once, in all
    for request in delivered:
        signed = int(request.headers["webhook-timestamp"])
        verify(request.body, request.headers, secret, now=dt.datetime.fromtimestamp(signed, dt.UTC))


def test_a_notifier_killed_mid_attempt_is_taken_over_once_its_claim_runs_out(
    store: str, receiver: LoopbackReceiver
) -> None:
    _setup(store, 1)
    (feed,) = _feed(store).values()
    secret = WebhookSecret.generate()
    args = ("deliver", store, receiver.url, secret.reveal(), "2")
    receiver.hang_next.set()

    doomed = _child(*args)
    assert receiver.hung.wait(60), "the first notifier never sent"
    os.kill(doomed.pid, signal.SIGKILL)  # mid-attempt: its claim stays behind
    doomed.communicate(timeout=30)  # and its pipes closed
    hung = receiver.received[0]
    assert hung.webhook_id == feed[0]

    early = _finish(_child(*args, "1"))  # the claim lasts: nobody sends it, nor what follows
    assert early["delivered"] == 0
    assert early["elsewhere"] >= 1
    time.sleep(2.5)  # the claim runs out
    late = _finish(_child(*args))

    delivered = receiver.delivered()
    assert [r.webhook_id for r in delivered] == feed  # all of it, in order, once each
    assert late["delivered"] == len(feed)
    assert delivered[0].body == hung.body  # the same event: same id, same bytes
    assert delivered[0].headers["webhook-timestamp"] >= hung.headers["webhook-timestamp"]
