"""What the service manager remembers about the platform's ids.

- **Accounts**: ``Accounts/Synchronize`` records each platform account id with our external id
  for it (the id ``ResellerPlans`` acts on: the BSS account id, which is the platform's own) and
  what the BSS said about it when it was synchronized.
- **Subscriptions**: each platform subscription id with our subscription id, recorded by
  ``Subscriptions/Create``, so a later call that lost our ``ID`` still finds its subscription.

Everything here can be rebuilt from the platform's next calls and the ``ResellerPlans`` store:
the in-memory directory is enough for one process. Several processes behind one base URL should
share a ``PlatformDirectory`` of their own (a table next to the store).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol

import attrs

__all__ = ["AccountRecord", "InMemoryDirectory", "PlatformDirectory"]


@attrs.frozen
class AccountRecord:
    """One synchronized account.

    Attributes:
        platform_account_id: the platform's ``AccountDefinition.ID``.
        external_id: our id of it, answered as ``Result`` (the BSS account id).
        name: its name when it was synchronized.
        reselling_enabled: whether the BSS had it marked as a reseller then.
        synchronized_at: when it was last synchronized.
    """

    platform_account_id: str
    external_id: str
    name: str
    reselling_enabled: bool
    synchronized_at: dt.datetime


class PlatformDirectory(Protocol):
    """Platform ids → ours. Implementations must be safe to call from several threads."""

    def get_account(self, platform_account_id: str) -> AccountRecord | None:
        """The record of a synchronized account, or None."""
        ...

    def put_account(self, record: AccountRecord) -> None:
        """Record (or replace) a synchronized account."""
        ...

    def get_subscription(self, platform_subscription_id: str) -> str | None:
        """Our subscription id for the platform's, or None."""
        ...

    def put_subscription(self, platform_subscription_id: str, subscription_id: str) -> None:
        """Remember our subscription id for the platform's."""
        ...


class InMemoryDirectory:
    """A ``PlatformDirectory`` in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, AccountRecord] = {}
        self._subscriptions: dict[str, str] = {}

    def get_account(self, platform_account_id: str) -> AccountRecord | None:
        """The record of a synchronized account, or None."""
        with self._lock:
            return self._accounts.get(platform_account_id)

    def put_account(self, record: AccountRecord) -> None:
        """Record (or replace) a synchronized account."""
        with self._lock:
            self._accounts[record.platform_account_id] = record

    def get_subscription(self, platform_subscription_id: str) -> str | None:
        """Our subscription id for the platform's, or None."""
        with self._lock:
            return self._subscriptions.get(platform_subscription_id)

    def put_subscription(self, platform_subscription_id: str, subscription_id: str) -> None:
        """Remember our subscription id for the platform's."""
        with self._lock:
            self._subscriptions[platform_subscription_id] = subscription_id

    @property
    def accounts(self) -> dict[str, AccountRecord]:
        """A copy of every account record, by platform account id."""
        with self._lock:
            return dict(self._accounts)

    @property
    def subscriptions(self) -> dict[str, str]:
        """A copy of every platform subscription id → our subscription id."""
        with self._lock:
            return dict(self._subscriptions)

    def __repr__(self) -> str:
        return (
            f"InMemoryDirectory(accounts={len(self._accounts)}, "
            f"subscriptions={len(self._subscriptions)})"
        )
