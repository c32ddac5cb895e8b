"""The webhook deliveries as an operator sees them: ``webhooks`` lists them (the dead letters,
the pending ones), ``redrive-webhook`` sends a dead letter again, ``skip-webhook`` gives one up.

The deliveries are made by ``run-due`` (or the host's own worker) when ``[[webhooks]]``
endpoints are configured; these commands only read and change the store's records, so an
operator may run them where no endpoint is configured.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from reseller_plans.cli.app import cli, json_option, pass_session
from reseller_plans.cli.render import print_records
from reseller_plans.cli.session import EXIT_FAILED, EXIT_OK, Session, errors
from reseller_plans.domain.deliveries import DeliveryRecord, DeliveryState
from reseller_plans.domain.errors import NotFound

__all__ = ["redrive_webhook", "skip_webhook", "webhooks"]

COLUMNS = (
    "endpoint", "event", "subscription", "state", "attempts", "next_attempt_at", "last_status",
    "last_error", "dead_reason", "redriven_by", "skipped_by",
)  # fmt: skip


def delivery_record(record: DeliveryRecord) -> dict[str, Any]:
    """One delivery as JSON values."""
    result = record.last_result
    return {
        "endpoint": record.endpoint_id,
        "event": record.event_id,
        "subscription": record.subscription_id,
        "state": record.state.value,
        "attempts": record.attempts,
        "next_attempt_at": record.next_attempt_at.isoformat() if record.next_attempt_at else None,
        "last_status": None if result is None else result.status,
        "last_error": None if result is None else result.error,
        "dead_reason": None if record.dead_reason is None else record.dead_reason.value,
        "redriven_by": record.redriven_by,
        "skipped_by": record.skipped_by,
    }


@cli.command()
@click.option("--dead", is_flag=True, help="Only the dead letters.")
@click.option("--pending", is_flag=True, help="Only those not delivered yet.")
@click.option("--delivered", is_flag=True, help="Only those delivered.")
@click.option("--skipped", is_flag=True, help="Only those given up.")
@click.option("--endpoint", help="Only the deliveries to this endpoint.")
@click.option("--subscription", help="Only the deliveries of this subscription's events.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many.")
@click.option("--csv", "csv_output", is_flag=True, help="Write the list as CSV.")
@json_option
@pass_session
def webhooks(
    session: Session,
    dead: bool,
    pending: bool,
    delivered: bool,
    skipped: bool,
    endpoint: str | None,
    subscription: str | None,
    limit: int | None,
    csv_output: bool,
) -> None:
    """List the webhook deliveries of the distributor's subscriptions, by endpoint and in the
    feed's order (every one, or only --dead, --pending, --delivered or --skipped). Exit 1 with
    --dead when there is any."""
    if csv_output and session.json_output:
        raise click.UsageError("--csv and --json are two formats: give one")
    flags = (("dead", dead), ("pending", pending), ("delivered", delivered), ("skipped", skipped))
    chosen = [name for name, on in flags if on]
    if len(chosen) > 1:
        raise click.UsageError(f"--{' and --'.join(chosen)} are exclusive: give one, or none")
    state = chosen[0] if chosen else None
    records: list[dict[str, Any]] = []
    mine: dict[str, bool] = {}
    with errors(session):
        if subscription is not None:
            session.plans.get(subscription)  # NotFound: say so, rather than list nothing
        found = session.plans.webhook_deliveries(
            state=state, endpoint_id=endpoint, subscription_id=subscription
        )
        for record in found:
            if limit is not None and len(records) >= limit:
                break
            sid = record.subscription_id
            if sid not in mine:
                mine[sid] = _of_distributor(session, sid)
            if mine[sid]:
                records.append(delivery_record(record))
    print_records(
        session, records, csv_columns=COLUMNS if csv_output else None,
        table=[("endpoint", "endpoint"), ("event", "event"), ("subscription", "subscription"),
               ("state", "state"), ("attempts", "attempts"), ("last error", "last_error")],
        nouns=("delivery", "deliveries"),
    )  # fmt: skip
    sys.exit(EXIT_FAILED if state == DeliveryState.DEAD.value and records else EXIT_OK)


def _of_distributor(session: Session, subscription_id: str) -> bool:
    try:
        return session.plans.get(subscription_id).distributor_id == session.actor.id
    except NotFound:
        return False


def _changed(session: Session, record: DeliveryRecord, said: str) -> None:
    if session.json_output:
        session.echo_json(delivery_record(record))
    else:
        session.out.print(f"{record.describe()}: {said}", highlight=False, markup=False)
    sys.exit(EXIT_OK)


@cli.command("redrive-webhook")
@click.argument("endpoint")
@click.argument("event")
@json_option
@pass_session
def redrive_webhook(session: Session, endpoint: str, event: str) -> None:
    """Send the dead (or skipped) delivery of EVENT to ENDPOINT again, on a fresh budget and
    under the same id: the next run-due sends it, in its subscription's order. Who asked is
    recorded on it."""
    with errors(session):
        record = session.plans.redrive_webhook(endpoint, event, actor=session.actor)
    _changed(session, record, "redriven: the next run-due sends it")


@cli.command("skip-webhook")
@click.argument("endpoint")
@click.argument("event")
@json_option
@pass_session
def skip_webhook(session: Session, endpoint: str, event: str) -> None:
    """Give the dead (or pending) delivery of EVENT to ENDPOINT up, so that the later events
    of its subscription go on. Who asked is recorded on it."""
    with errors(session):
        record = session.plans.skip_webhook(endpoint, event, actor=session.actor)
    _changed(session, record, "skipped: the later events of its subscription go on")
