"""The stores of ``ResellerPlans``: where subscriptions, their history, the outbox, idempotency
records, alias holds and leases are kept.

- ``reseller_plans.stores.sqlite.SQLiteStore``: the embedded default
  (``reseller_plans.SQLiteStore``).
- ``reseller_plans.stores.postgres.PostgresStore``: several workers sharing one database (the
  ``postgres`` extra).
- ``reseller_plans.stores.memory.InMemoryStore``: tests and simulations
  (``reseller_plans.InMemoryStore``).

Importing this package imports none of them, so the PostgreSQL driver is needed only by the
PostgreSQL store.
"""
