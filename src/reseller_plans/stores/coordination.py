"""Leases, outbox claims and the notes of failed due work, for the in-memory stores.

The plain ``InMemoryStore`` and the simulator's packed store share this: what decides who
owns a subscription or a message is the same in both, and small (a row per subscription being
driven, a claim per message being sent). A unit of work stages its changes on a copy and
applies them when it commits, so a rolled-back unit of work leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt

import attrs

from reseller_plans.ports import Lease

__all__ = ["Coordinated", "Coordination", "CoordinationTx"]


@attrs.frozen
class _Row:
    owner: str | None
    generation: int
    until: dt.datetime | None
    failures: int = 0
    last_error: str | None = None
    retry_at: dt.datetime | None = None
    taken_over: bool = False


class Coordination:
    """The committed leases and claims of one in-memory store."""

    def __init__(self) -> None:
        self.leases: dict[str, _Row] = {}
        self.claims: dict[str, tuple[str, dt.datetime]] = {}
        self.reconciliations: dict[str, tuple[dt.datetime, str]] = {}
        self.generation = 0
        """The last generation given out: one counter for every lease of the store, so a
        lease given back and taken again never repeats a generation."""

    def begin(self) -> CoordinationTx:
        """A transaction's view, to commit with it."""
        return CoordinationTx(self)


class CoordinationTx:
    """One unit of work's leases and claims: copied on the first write, applied on commit."""

    __slots__ = ("_claims", "_generation", "_leases", "_reconciliations", "_store")

    def __init__(self, store: Coordination) -> None:
        self._store = store
        self._leases: dict[str, _Row] | None = None
        self._claims: dict[str, tuple[str, dt.datetime]] | None = None
        self._reconciliations: dict[str, tuple[dt.datetime, str]] | None = None
        self._generation: int | None = None

    def _next_generation(self) -> int:
        self._generation = (
            self._store.generation if self._generation is None else self._generation
        ) + 1
        return self._generation

    def _lease_rows(self) -> dict[str, _Row]:
        return self._store.leases if self._leases is None else self._leases

    def _writable_leases(self) -> dict[str, _Row]:
        if self._leases is None:
            self._leases = dict(self._store.leases)
        return self._leases

    def _writable_claims(self) -> dict[str, tuple[str, dt.datetime]]:
        if self._claims is None:
            self._claims = dict(self._store.claims)
        return self._claims

    def take_lease(
        self, subscription_id: str, owner: str, now: dt.datetime, until: dt.datetime
    ) -> Lease | None:
        row = self._lease_rows().get(subscription_id)
        held = row is not None and row.owner is not None and row.owner != owner
        if held and row is not None and row.until is not None and row.until > now:
            return None
        if row is not None and row.owner == owner:
            generation, taken_over = row.generation, row.taken_over  # a renewal
        else:  # it changes hands: taken over when its owner never gave it back
            generation = self._next_generation()
            taken_over = row is not None and row.owner is not None
        kept = row or _Row(None, 0, None)
        self._writable_leases()[subscription_id] = attrs.evolve(
            kept, owner=owner, generation=generation, until=until, taken_over=taken_over
        )
        return Lease(subscription_id, owner, generation, until, taken_over)

    def release_lease(
        self, lease: Lease, failure: str | None, retry_at: dt.datetime | None
    ) -> None:
        row = self._lease_rows().get(lease.subscription_id)
        if row is None or row.owner != lease.owner or row.generation != lease.generation:
            return
        rows = self._writable_leases()
        if failure is None:
            del rows[lease.subscription_id]
        else:
            rows[lease.subscription_id] = attrs.evolve(
                row, owner=None, until=None, failures=row.failures + 1, last_error=failure,
                retry_at=retry_at,
            )  # fmt: skip

    def backed_off(self, subscription_id: str, now: dt.datetime) -> bool:
        """Whether the subscription's due work failed and waits until after ``now``."""
        row = self._lease_rows().get(subscription_id)
        return row is not None and row.retry_at is not None and row.retry_at > now

    def claim(self, entry_id: str, owner: str, now: dt.datetime, until: dt.datetime) -> bool:
        current = (self._store.claims if self._claims is None else self._claims).get(entry_id)
        if current is not None and current[0] != owner and current[1] > now:
            return False
        self._writable_claims()[entry_id] = (owner, until)
        return True

    def unclaim(self, entry_id: str) -> None:
        claims = self._store.claims if self._claims is None else self._claims
        if entry_id in claims:
            del self._writable_claims()[entry_id]

    def _requests(self) -> dict[str, tuple[dt.datetime, str]]:
        if self._reconciliations is None:
            return self._store.reconciliations
        return self._reconciliations

    def request_reconciliation(self, subscription_id: str, at: dt.datetime, reason: str) -> None:
        current = self._requests().get(subscription_id)
        if current is not None and current[0] <= at:
            return
        if self._reconciliations is None:
            self._reconciliations = dict(self._store.reconciliations)
        self._reconciliations[subscription_id] = (at, reason)

    def due_reconciliations(self, now: dt.datetime, limit: int) -> list[tuple[str, str]]:
        due = sorted((at, sid, why) for sid, (at, why) in self._requests().items() if at <= now)
        return [(sid, why) for _, sid, why in due[:limit]]

    def finish_reconciliation(self, subscription_id: str, now: dt.datetime) -> None:
        current = self._requests().get(subscription_id)
        if current is not None and current[0] <= now:
            if self._reconciliations is None:
                self._reconciliations = dict(self._store.reconciliations)
            del self._reconciliations[subscription_id]

    def commit(self) -> None:
        """Apply the staged changes to the store (nothing here can fail)."""
        if self._leases is not None:
            self._store.leases = self._leases
        if self._claims is not None:
            self._store.claims = self._claims
        if self._reconciliations is not None:
            self._store.reconciliations = self._reconciliations
        if self._generation is not None:
            self._store.generation = self._generation


class Coordinated:
    """The unit-of-work methods of leases and reconciliation requests, for an in-memory unit
    of work that keeps its ``CoordinationTx`` as ``_coordination``."""

    __slots__ = ()
    _coordination: CoordinationTx

    def take_lease(
        self, subscription_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> Lease | None:
        return self._coordination.take_lease(subscription_id, owner, now, until)

    def release_lease(
        self, lease: Lease, *, failure: str | None = None, retry_at: dt.datetime | None = None
    ) -> None:
        self._coordination.release_lease(lease, failure, retry_at)

    def request_reconciliation(self, subscription_id: str, *, at: dt.datetime, reason: str) -> None:
        self._coordination.request_reconciliation(subscription_id, at, reason)

    def due_reconciliations(self, now: dt.datetime, limit: int) -> list[tuple[str, str]]:
        return self._coordination.due_reconciliations(now, limit)

    def finish_reconciliation(self, subscription_id: str, *, now: dt.datetime) -> None:
        self._coordination.finish_reconciliation(subscription_id, now)
