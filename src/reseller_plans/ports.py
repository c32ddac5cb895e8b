"""The ports: what ``ResellerPlans`` needs from the outside world, as ``typing.Protocol``.

One port per outside system. Adapters implement them (``reseller_plans.bss``,
``reseller_plans.storefront``, ``reseller_plans.mail``, ``reseller_plans.stores``), and every port
has a stateful in-memory implementation in ``reseller_plans.testing``.

Where the plan license lives: the **Reseller Plan license** is a platform-side fact about the
account, so its provisioning and revocation are operations of the ``BSS`` port
(``provision_license`` / ``revoke_license``), not a port of their own.

Every operation raises only ``ResellerPlansError`` subclasses: ``NotFound`` for a missing object,
``TransientBackendError`` when a retry may help, ``PermanentBackendError`` when it will not.
Writes take an ``idempotency_key`` that stays the same for every retry of one logical write, so an
adapter may repeat them safely.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import attrs

from reseller_plans.domain.accounts import DistributorProfile, ResellerAccount
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.events import Event
from reseller_plans.domain.feed import FeedEvent
from reseller_plans.domain.filters import SubscriptionQuery
from reseller_plans.domain.messages import MessageKind, MessageStatus
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import PlatformStatus, StorefrontStatus
from reseller_plans.domain.subscription import Subscription

__all__ = [
    "BSS",
    "AliasHold",
    "BillingCycle",
    "Clock",
    "EmailMessage",
    "IdempotencyRecord",
    "Lease",
    "Mailer",
    "MessageStatus",
    "OutboxEntry",
    "PlanOrder",
    "PlatformStatus",
    "Store",
    "Storefront",
    "StorefrontStatus",
    "SystemClock",
    "UnitOfWork",
]

BillingCycle = str
"""``"monthly"`` or ``"annual"``."""


@attrs.frozen
class PlanOrder:
    """An executed order for a plan product.

    Attributes:
        order_id: the order's id in the BSS (a Storefront basket is a draft order too).
        platform_subscription_id: the subscription the platform created, when it says.
    """

    order_id: str
    platform_subscription_id: str | None = None


@attrs.frozen
class EmailMessage:
    """One rendered email, ready to send.

    Attributes:
        message_id: stable id derived from the outbox entry; a resend carries the same one.
        kind: which message it is.
        to: recipients.
        subject: the subject line.
        text: the plain-text part.
        html: the HTML alternative.
    """

    message_id: str
    kind: MessageKind
    to: tuple[str, ...]
    subject: str
    text: str
    html: str


@runtime_checkable
class Clock(Protocol):
    """Where time comes from. ``now()`` returns an aware UTC datetime."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class BSS(Protocol):
    """The distributor's business support system."""

    def get_distributor(self, distributor_id: str) -> DistributorProfile:
        """The distributor's profile: edition, add-ons, service manager, plan products."""
        ...

    def get_account(self, account_id: str) -> ResellerAccount:
        """One account. Raises ``NotFound``."""
        ...

    def list_resellers(self, distributor_id: str) -> Iterator[ResellerAccount]:
        """Every account of the distributor with reselling enabled, lazily, page by page."""
        ...

    def place_plan_order(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: BillingCycle,
        idempotency_key: str,
    ) -> PlanOrder:
        """Create a draft order for the plan product (with the alias on the line), execute it."""
        ...

    def cancel_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        """Cancel the platform's subscription immediately (idempotent)."""
        ...

    def suspend_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        """Suspend the platform's subscription (idempotent)."""
        ...

    def resume_subscription(self, platform_subscription_id: str, *, idempotency_key: str) -> None:
        """Resume a suspended subscription (idempotent)."""
        ...

    def provision_license(self, account_id: str, plan: Plan, *, idempotency_key: str) -> None:
        """Provision the Reseller Plan license for ``plan`` on the account (idempotent)."""
        ...

    def revoke_license(self, account_id: str, *, idempotency_key: str) -> None:
        """Revoke the account's Reseller Plan license, back to Basic (idempotent)."""
        ...

    def licensed_plan(self, account_id: str) -> Plan:
        """The plan the account's Reseller Plan license names (``Plan.BASIC`` for none): the
        reconciler's read."""
        ...

    def platform_status(self, platform_subscription_id: str) -> PlatformStatus:
        """What the BSS shows of one platform subscription: the read that tells, after a
        takeover, whether a suspension, resumption or cancellation on the platform acted.
        Raises ``NotFound``."""
        ...

    def platform_subscriptions_of(
        self, account_id: str, product_id: str
    ) -> dict[str, PlatformStatus]:
        """The account's platform subscriptions of the product, by id, with their status: the
        read that tells, after a takeover, whether an order (placed in the BSS or bought in the
        Storefront) created one."""
        ...


class Storefront(Protocol):
    """The distributor's Storefront: aliases, reseller storefronts, the reseller's purchases."""

    def is_alias_free(self, alias: StorefrontAlias, *, account_id: str) -> bool:
        """True when nobody but ``account_id`` holds or uses the alias."""
        ...

    def hold_alias(self, alias: StorefrontAlias, *, account_id: str) -> None:
        """Reserve the alias for the account. Raises ``AliasTaken``; idempotent for the owner."""
        ...

    def release_alias(
        self, alias: StorefrontAlias, *, account_id: str, idempotency_key: str | None = None
    ) -> None:
        """Give the alias up (idempotent; a no-op when another account holds it)."""
        ...

    def activate_storefront(
        self,
        account_id: str,
        alias: StorefrontAlias,
        plan: Plan,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        """Put the reseller's storefront live under its alias; returns its URL (idempotent).

        Like every storefront write, it takes the ``idempotency_key`` of the logical write (the
        same on every repeat of the step); None lets the adapter mint one for this call only.
        """
        ...

    def suspend_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        """Take the reseller's storefront offline for a suspension (idempotent)."""
        ...

    def resume_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        """Put a suspended storefront back online (idempotent)."""
        ...

    def deactivate_storefront(self, account_id: str, *, idempotency_key: str | None = None) -> None:
        """Shut the reseller's storefront down (idempotent)."""
        ...

    def storefront_status(self, account_id: str) -> StorefrontStatus:
        """What the Storefront shows of the reseller's storefront (``NONE`` when it has none):
        the reconciler's read."""
        ...

    def purchase_plan(
        self,
        *,
        account_id: str,
        product_id: str,
        alias: StorefrontAlias | None,
        billing_cycle: BillingCycle,
        idempotency_key: str,
    ) -> PlanOrder:
        """The reseller buys the plan product itself: basket, alias at checkout, checkout."""
        ...


class Mailer(Protocol):
    """Sends one email. Raises ``TransientBackendError`` or ``PermanentBackendError``."""

    def send(self, message: EmailMessage) -> None: ...


@attrs.frozen
class OutboxEntry:
    """A message waiting in (or sent from) the outbox.

    It is written in the same unit of work as the state change that makes it due, sent by the
    service after the commit, and marked sent once the mailer returns: a crash can at worst send
    it again (with the same ``id``, which becomes its Message-ID), never lose it.

    Attributes:
        id: stable id (subscription id, version and message kind).
        subscription_id: the subscription it is about.
        kind: which message.
        to: recipients.
        context: the facts the template needs (see ``reseller_plans.domain.messages``).
        created_at: when it was queued.
        sent_at: when the mailer accepted it, or None.
        attempts: sending attempts made.
        last_error: the last failure, if any.
        failed_permanently: True when the mail server refused it for good (not retried).
    """

    id: str
    subscription_id: str
    kind: MessageKind
    to: tuple[str, ...]
    context: dict[str, str]
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    failed_permanently: bool = False

    @property
    def status(self) -> MessageStatus:
        """Sent, refused for good (failed), or waiting."""
        if self.sent_at is not None:
            return MessageStatus.SENT
        return MessageStatus.FAILED if self.failed_permanently else MessageStatus.WAITING


@attrs.frozen
class IdempotencyRecord:
    """The first result of a command sent with an idempotency key.

    Attributes:
        scope: whose key it is (``"distributor:D-100"``); keys never collide across actors.
        key: the key.
        fingerprint: the command and its arguments; the same key with another fingerprint is an
            ``IdempotencyConflict``.
        subscription_id: the subscription the command produced or acted on.
        created_at: when the command first ran.
    """

    scope: str
    key: str
    fingerprint: str
    subscription_id: str
    created_at: dt.datetime


@attrs.frozen
class AliasHold:
    """A Storefront Alias reserved to one reseller.

    ``until`` is None while a live subscription uses it; after a cancellation it is the end of
    the hold period, after which ``run_due`` releases it.
    """

    alias: str
    account_id: str
    until: dt.datetime | None = None


@attrs.frozen
class Lease:
    """One driver call's ownership of a subscription: only the holder runs its saga.

    Attributes:
        subscription_id: the subscription.
        owner: the driver call holding it (a command, one ``run_due`` item).
        generation: the fencing token: it goes up each time the lease changes hands, and an
            outcome recorded under an older generation is refused.
        until: when it ends unless renewed (by the ``Clock`` of the one who took it).
    """

    subscription_id: str
    owner: str
    generation: int
    until: dt.datetime
    taken_over: bool = False
    """Taken from an owner that never gave it back (its process died or froze): that owner's
    last call may have acted, or may still act."""


class UnitOfWork(Protocol):
    """One transaction over the store. Changes are committed together when the ``with`` block
    of ``Store.unit_of_work()`` ends normally, and all rolled back when it raises.
    """

    def get(self, subscription_id: str) -> Subscription | None:
        """The subscription, or None."""
        ...

    def live_subscription_of(self, account_id: str) -> Subscription | None:
        """The account's pending, active or suspended subscription, if any."""
        ...

    def subscriptions_page(
        self, query: SubscriptionQuery, *, after: int | None, limit: int
    ) -> list[tuple[int, Subscription]]:
        """Up to ``limit`` subscriptions that match ``query``, in the order they were created,
        each with its position in that order (an opaque, increasing number), after position
        ``after`` (from the start, for None): one page of ``ResellerPlans.subscriptions``."""
        ...

    def subscriptions_of(self, account_id: str) -> list[Subscription]:
        """Every subscription the account ever had, oldest first."""
        ...

    def add(self, subscription: Subscription, events: Sequence[Event]) -> None:
        """Insert a new subscription with its first events."""
        ...

    def save(
        self, subscription: Subscription, events: Sequence[Event], *, expected_version: int
    ) -> None:
        """Replace the stored subscription if it is still at ``expected_version`` and append the
        events to its history. Raises ``ConcurrentUpdate`` otherwise."""
        ...

    def history(self, subscription_id: str) -> list[Event]:
        """The subscription's events, in order."""
        ...

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        """Ids of subscriptions with work due: an operation in progress, a scheduled change
        whose time has come, or a term that has ended; earliest first, then by id. A
        subscription whose due work failed (``release_lease(failure=...)``) is left out until
        its ``retry_at``."""
        ...

    def add_outbox(self, entry: OutboxEntry) -> None:
        """Queue a message (a second entry with the same id is ignored)."""
        ...

    def unsent_outbox(self, limit: int) -> list[OutboxEntry]:
        """Messages not yet sent and not refused for good, oldest first."""
        ...

    def update_outbox(self, entry: OutboxEntry) -> None:
        """Store the entry's new sending state."""
        ...

    def outbox_of(self, subscription_id: str) -> list[OutboxEntry]:
        """Every message of the subscription, sent or not."""
        ...

    def get_outbox(self, entry_id: str) -> OutboxEntry | None:
        """One message of the outbox, by id."""
        ...

    def reclaim_outbox(
        self, entry_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> OutboxEntry | None:
        """Start a message not sent (waiting, or refused for good) over, its attempts and
        error cleared, and claim it for ``owner`` until ``until``: atomically, and only when no
        other sender holds a live claim on it. Returns it so, or None (sent, or claimed)."""
        ...

    def outbox_page(
        self,
        *,
        status: MessageStatus | None,
        subscription_id: str | None,
        distributor_id: str | None = None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[OutboxEntry]:
        """Up to ``limit`` messages in that status, of that subscription, of that
        distributor's subscriptions (any, for None), ordered by ``(created_at, id)``, after
        that position (from the start, for None): one page of the outbox's queries."""
        ...

    def count_outbox(self, status: MessageStatus) -> int:
        """How many messages are in that status."""
        ...

    def events_after(self, after: str | None, limit: int) -> list[FeedEvent]:
        """Up to ``limit`` events of the feed after position ``after`` (from the start, for
        None), in the feed's order: only events whose transactions have committed, and never
        one that a later call could find before a position already given."""
        ...

    def record_events(self, events: Sequence[Event]) -> None:
        """Append events to their subscriptions' histories, changing nothing else: facts about
        a subscription that are not a change of it (a message refused, a message resent)."""
        ...

    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    def put_idempotency(self, record: IdempotencyRecord) -> None: ...

    def get_alias_hold(self, alias: str) -> AliasHold | None: ...

    def put_alias_hold(self, hold: AliasHold) -> None: ...

    def delete_alias_hold(self, alias: str) -> None: ...

    def expired_alias_holds(self, now: dt.datetime) -> list[AliasHold]: ...

    def reserve_alias_hold(self, alias: str, account_id: str) -> bool:
        """Reserve the alias to the account while it is live (``until`` None), unless another
        account holds it: atomic, never overwriting another's hold. Returns whether it did."""
        ...

    def release_alias_hold(self, alias: str, account_id: str) -> None:
        """Delete the hold if (and only if) it is still the account's."""
        ...

    def take_lease(
        self, subscription_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> Lease | None:
        """Take the subscription's lease, or renew it for its owner, atomically.

        It is taken when nobody holds it, or its holder's ended by ``now``; the generation then
        goes up by one. Its owner renews it (same generation) by taking it again. Returns the
        lease now held, or None while another owner's lease lasts.
        """
        ...

    def release_lease(
        self, lease: Lease, *, failure: str | None = None, retry_at: dt.datetime | None = None
    ) -> None:
        """Give the lease up, if it is still this one. With ``failure``, note that the
        subscription's due work failed: ``due`` leaves it out until ``retry_at``."""
        ...

    def request_reconciliation(self, subscription_id: str, *, at: dt.datetime, reason: str) -> None:
        """Ask for the subscription's account to be reconciled at ``at`` (of two requests, the
        earlier stands, with its reason)."""
        ...

    def due_reconciliations(self, now: dt.datetime, limit: int) -> list[tuple[str, str]]:
        """The subscriptions to reconcile by ``now``, with why, earliest first."""
        ...

    def finish_reconciliation(self, subscription_id: str, *, now: dt.datetime) -> None:
        """Forget the subscription's reconciliation request if it was due by ``now`` (it was
        made; a later one asked for meanwhile stands)."""
        ...

    def claim_outbox(
        self, entry_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> OutboxEntry | None:
        """Claim a waiting message for one send, atomically: returns it when it is unsent, not
        refused for good and not claimed by another sender until after ``now``; else None.
        ``update_outbox`` ends the claim."""
        ...


class Store(Protocol):
    """Where subscriptions, their history, the outbox, idempotency keys and alias holds live."""

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """Open one transaction."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...
