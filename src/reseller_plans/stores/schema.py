"""The tables of the SQL stores, in the SQL both speak: one function per schema version.

Each store lists its forward migrations (``MIGRATIONS``) from these; a store opened on an older
database runs the missing ones in order, and ``reseller_plans_schema.version`` says how many
have run.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "schema_audit",
    "schema_deliveries",
    "schema_v1",
    "schema_v2",
    "schema_v3",
    "schema_v4",
    "schema_v5",
    "schema_v6",
]

JSONText = Callable[[str, tuple[str, ...]], str]
"""The SQL that reads the text at a path of a JSON document held in a column."""
UTCText = Callable[[str], str]
"""The SQL that turns an ISO 8601 instant in text (any offset, a fraction or none) into the
layout of ``utc_text``: UTC, six digits of fraction, ``+00:00``."""


def schema_v1(*, sequence: str, subscription_extras: str = "") -> str:
    """The first schema, in the SQL both stores speak.

    Args:
        sequence: the column type of an auto-incrementing key (``INTEGER PRIMARY KEY
            AUTOINCREMENT`` in SQLite, ``BIGSERIAL PRIMARY KEY`` in PostgreSQL).
        subscription_extras: more columns of the subscriptions table, each ending with a comma.
    """
    return f"""
    CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        live INTEGER NOT NULL,
        due_at TEXT,
        {subscription_extras}
        version INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE UNIQUE INDEX subscriptions_one_live_per_account
        ON subscriptions (account_id) WHERE live = 1;
    CREATE INDEX subscriptions_by_account ON subscriptions (account_id);
    CREATE INDEX subscriptions_due ON subscriptions (due_at) WHERE due_at IS NOT NULL;
    CREATE TABLE events (
        seq {sequence},
        subscription_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX events_by_subscription ON events (subscription_id, seq);
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        subscription_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        recipients TEXT NOT NULL,
        context TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        failed_permanently INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_unsent ON outbox (created_at)
        WHERE sent_at IS NULL AND failed_permanently = 0;
    CREATE INDEX outbox_by_subscription ON outbox (subscription_id);
    CREATE TABLE idempotency (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (scope, key)
    );
    CREATE TABLE alias_holds (
        alias TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        until TEXT
    )
    """


def schema_v2() -> str:
    """Leases (with the notes of failed due work) and outbox claims: one owner at a time."""
    return """
    CREATE TABLE leases (
        subscription_id TEXT PRIMARY KEY,
        owner TEXT,
        generation INTEGER NOT NULL,
        until TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        retry_at TEXT
    );
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    ALTER TABLE outbox ADD COLUMN claimed_until TEXT
    """


def schema_v3() -> str:
    """Reconciliation requests, and whether a lease was taken over from an owner that never
    gave it back."""
    return """
    CREATE TABLE reconciliations (
        subscription_id TEXT PRIMARY KEY,
        due_at TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX reconciliations_due ON reconciliations (due_at);
    ALTER TABLE leases ADD COLUMN taken_over INTEGER NOT NULL DEFAULT 0
    """


def schema_v4() -> str:
    """The outbox's messages refused for good, found without a scan (its queries)."""
    return """
    CREATE INDEX outbox_failed ON outbox (created_at, id)
        WHERE sent_at IS NULL AND failed_permanently = 1
    """


def schema_v5(json_text: JSONText, utc: UTCText) -> str:
    """Columns and indexes for the subscriptions' queries, filled in from the documents and
    their histories.

    Args:
        json_text: how this store reads the text at a path of a JSON column.
        utc: how this store writes an instant in the layout of ``utc_text``.
    """
    # Event times were written by isoformat(), in the offset of the host's clock, without a
    # fraction when it is zero. The column keeps one layout, so that its text sorts as its
    # instants do.
    at = utc(json_text("e.body", ("at",)))
    return f"""
    ALTER TABLE subscriptions ADD COLUMN distributor_id TEXT;
    ALTER TABLE subscriptions ADD COLUMN status TEXT;
    ALTER TABLE subscriptions ADD COLUMN plan TEXT;
    ALTER TABLE subscriptions ADD COLUMN sync TEXT;
    ALTER TABLE subscriptions ADD COLUMN changed_at TEXT;
    UPDATE subscriptions SET
        distributor_id = {json_text("body", ("distributor_id",))},
        status = {json_text("body", ("status",))},
        plan = {json_text("body", ("plan",))},
        sync = COALESCE({json_text("body", ("operation", "sync"))}, 'synchronized'),
        changed_at = (SELECT MAX({at}) FROM events e WHERE e.subscription_id = subscriptions.id);
    CREATE INDEX subscriptions_by_distributor ON subscriptions (distributor_id, status);
    CREATE INDEX subscriptions_by_status ON subscriptions (status, sync);
    CREATE INDEX subscriptions_changed ON subscriptions (changed_at)
    """  # noqa: S608 - our own SQL, no input in it


def schema_v6(*, postgres: bool) -> str:
    """The feed's order (``events_after``).

    SQLite commits one writer at a time, so the events' sequence is the order they commit in,
    and it needs nothing. PostgreSQL commits concurrent transactions in any order: a sequence
    number taken early can commit late, after a reader went past it. Each event row records the
    id of the transaction that wrote it; the feed is ordered by (transaction, sequence), and a
    reader sees only the events of transactions older than every one still running
    (``pg_snapshot_xmin``), so nothing can appear behind a position already read. Old rows are
    transaction 0: before every new one, in their sequence's order.
    """
    if not postgres:
        return ""
    return """
    ALTER TABLE events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE events ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint);
    CREATE INDEX events_feed ON events (txid, seq)
    """


def schema_audit(*, postgres: bool) -> str:
    """The audit trail: every stored event recorded before it gets the audit of an unrecorded
    actor (``Audit.unrecorded()``), except what its own fields tell: the actor who resent a
    message (``MessageResent.actor``, ``"distributor 100"`` becoming ``"distributor:100"``)
    and the reason of a suspension."""
    if postgres:
        kind, said, why = (f"(body::jsonb ->> '{n}')" for n in ("type", "actor", "reason"))
        resender = f"regexp_replace({said}, ' ', ':')"
        build, missing = "jsonb_build_object", "body::jsonb -> 'audit' IS NULL"
    else:
        kind, said, why = (f"json_extract(body, '$.{n}')" for n in ("type", "actor", "reason"))
        space = f"instr({said}, ' ')"
        resender = f"substr({said}, 1, {space} - 1) || ':' || substr({said}, {space} + 1)"
        build, missing = "json_object", "json_extract(body, '$.audit') IS NULL"
    actor = f"CASE WHEN {kind} = 'MessageResent' THEN {resender} ELSE 'unrecorded' END"
    reason = f"CASE WHEN {kind} = 'Suspended' THEN NULLIF({why}, '') END"
    audit = (
        f"{build}('actor', {actor}, 'correlation_id', NULL, 'idempotency_key', NULL, "
        f"'reason', {reason})"
    )
    if postgres:
        assignment = f"body = (body::jsonb || jsonb_build_object('audit', {audit}))::text"
    else:
        assignment = f"body = json_set(body, '$.audit', {audit})"
    return f"UPDATE events SET {assignment} WHERE {missing}"  # noqa: S608 - our own SQL


def schema_deliveries(*, postgres: bool) -> str:
    """Webhook deliveries (the ``DeliveryLog`` port): each endpoint's cursor in the feed, and
    one row per delivery.

    A delivery's row holds its key, the columns its queries read (its subscription, its place
    in the feed, its state and when its next attempt is due), the rest of its record as JSON
    (``stores.delivery_codec``), its body as bytes, exactly as rendered, and the claim of the
    sender making an attempt, with the claim's generation (the fencing token). Its indexes
    serve ``next_deliveries`` (the pending ones of an endpoint in feed order, and a partial one
    of the pending and dead ones per subscription: what a sender reads on every run stays
    small however many were delivered) and the operator's pages and counts by state, and by
    subscription, in their order.

    Args:
        postgres: whether the SQL is PostgreSQL's (the body is ``BYTEA``, SQLite's ``BLOB``).
    """
    body = "BYTEA" if postgres else "BLOB"
    return f"""
    CREATE TABLE webhook_cursors (
        endpoint_id TEXT PRIMARY KEY,
        position TEXT,
        ingested BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE webhook_deliveries (
        endpoint_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        state TEXT NOT NULL,
        next_attempt_at TEXT,
        record TEXT NOT NULL,
        body {body} NOT NULL,
        claimed_by TEXT,
        claimed_until TEXT,
        generation BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (endpoint_id, event_id)
    );
    CREATE INDEX webhook_deliveries_heads
        ON webhook_deliveries (endpoint_id, subscription_id, state, seq, event_id)
        WHERE state IN ('pending', 'dead');
    CREATE INDEX webhook_deliveries_by_state
        ON webhook_deliveries (state, endpoint_id, seq, event_id);
    CREATE INDEX webhook_deliveries_by_subscription
        ON webhook_deliveries (subscription_id, endpoint_id, seq, event_id)
    """
