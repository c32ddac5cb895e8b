"""The tables of the SQL stores, in the SQL both speak: one function per schema version.

Each store lists its forward migrations (``MIGRATIONS``) from these; a store opened on an older
database runs the missing ones in order, and ``reseller_plans_schema.version`` says how many
have run.
"""

from __future__ import annotations

__all__ = ["schema_v1", "schema_v2", "schema_v3", "schema_v4"]


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
