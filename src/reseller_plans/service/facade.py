"""``ResellerPlans``: the façade a host application calls.

It wires the collaborators once (``service.wiring``) and gives each command one short
method: parse and authorize the input, name the request for its idempotency key, and hand the
command's planner to ``Commands``. Queries and previews are delegated likewise.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import attrs

from reseller_plans.correlation import new_correlation_id as mint_correlation_id
from reseller_plans.domain.accounts import ResellerAccount
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.eligibility import EligibilityReport
from reseller_plans.domain.events import Event
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import (
    BillingCycle,
    Channel,
    Subscription,
)
from reseller_plans.mail import Templates
from reseller_plans.ports import BSS, Clock, Mailer, OutboxEntry, Store, Storefront, SystemClock
from reseller_plans.service import inputs
from reseller_plans.service.access import (
    authorize_account,
)
from reseller_plans.service.correlating import correlated
from reseller_plans.service.deliveries import Notifier
from reseller_plans.service.leases import LeaseSettings
from reseller_plans.service.lifecycle_methods import LifecycleMethods
from reseller_plans.service.listeners import Listeners, RemoveListener
from reseller_plans.service.outbox import MessageRenderer
from reseller_plans.service.reading import ReadMethods
from reseller_plans.service.reports import DueReport
from reseller_plans.service.webhook_methods import WebhookMethods
from reseller_plans.service.wiring import wire

__all__ = ["ResellerPlans"]


_FIXED = frozenset(("bss", "storefront", "mailer", "store", "clock", "templates", "preview"))
_FIXED |= {"alias_hold", "retry_budget", "staff_email", "leases", "webhooks"}


class ResellerPlans(LifecycleMethods, ReadMethods, WebhookMethods):
    """Reseller plans, embedded: the commands, the queries and the due work.

    A command authorizes the actor before any write, changes nothing when it refuses, honours
    the caller's idempotency key, commits the new state with its events and messages at once,
    then drives the saga, committing each step's outcome before the next, and sends the outbox.

    Args:
        bss: the distributor's BSS.
        storefront: the distributor's Storefront.
        mailer: sends the outbox's messages.
        store: where state lives (``SQLiteStore`` is the embedded default).
        clock: where time comes from (real time by default).
        templates: renders messages (``reseller_plans.mail.Templates()`` by default).
        alias_hold: how long a cancelled reseller's alias stays reserved to it.
        retry_budget: attempts per saga step on transient failures before it waits for
            ``retry`` or the next ``run_due``.
        staff_email: where provisioning failures go when the distributor profile has none.
        new_id: makes subscription ids (random by default; seeded in simulations).
        leases: how long a driver call owns the subscription it drives, how long a command
            waits for a busy one, and the longest a step may take (``LeaseSettings()`` by
            default; see the workers guide).
        new_correlation_id: makes the correlation id of a call made outside any
            ``reseller_plans.correlate()`` block (``cor_`` and random hex by default; seeded in
            simulations).
        webhooks: delivers the store's feed to the host's endpoints from ``run_due``
            (``reseller_plans.webhooks.WebhookNotifier``; none by default). The store must
            keep deliveries (``SQLiteStore``, ``PostgresStore``, ``InMemoryStore``).
    """

    def __init__(
        self,
        *,
        bss: BSS,
        storefront: Storefront,
        mailer: Mailer,
        store: Store,
        clock: Clock | None = None,
        templates: MessageRenderer | None = None,
        alias_hold: dt.timedelta = dt.timedelta(days=30),
        retry_budget: int = 3,
        staff_email: str | None = None,
        new_id: Callable[[], str] | None = None,
        leases: LeaseSettings | None = None,
        new_correlation_id: Callable[[], str] | None = None,
        webhooks: Notifier | None = None,
    ) -> None:
        self.bss, self.storefront, self.mailer, self.store = bss, storefront, mailer, store
        self.clock: Clock = clock or SystemClock()
        self.templates: MessageRenderer = templates or Templates()
        self.alias_hold, self.retry_budget, self.staff_email = alias_hold, retry_budget, staff_email
        self.leases = leases or LeaseSettings()
        self.webhooks = webhooks
        self._new_id = new_id or (lambda: "sub_" + uuid.uuid4().hex)
        self._new_correlation_id = new_correlation_id or mint_correlation_id
        self._checked_clock = inputs.CheckedClock(self.clock)  # naive time refused when read
        self._parts = wire(self, self._checked_clock)
        self._commands = self._parts.commands
        self.preview = self._parts.previews
        """What a command would do now, with nothing written (``plans.preview.upgrade``)."""
        self._listeners = Listeners(store)
        self._closed = False

    def __setattr__(self, name: str, value: object) -> None:
        # Its parts were wired with these: changing one afterwards would change nothing.
        if name in _FIXED and name in self.__dict__:
            raise AttributeError(f"ResellerPlans.{name} is fixed when it is built: build another")
        super().__setattr__(name, value)

    def __repr__(self) -> str:
        return f"ResellerPlans(store={self.store!r}, clock={self.clock!r})"

    @classmethod
    def from_config(
        cls,
        path: str | Path,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> ResellerPlans:
        """Wire one from a TOML file, overridden by the ``RESELLER_PLANS_*`` variables of
        ``environ`` (default ``os.environ``); ``close()`` closes what it opened.

        Raises:
            ConfigError: the file is unreadable or malformed, or a setting is missing.
        """
        return _configured(path, environ, clock)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, clock: Clock | None = None
    ) -> ResellerPlans:
        """Wire one from the ``RESELLER_PLANS_*`` environment variables alone.

        Raises:
            ConfigError: a setting is missing or malformed.
        """
        return _configured(None, environ, clock)

    def close(self) -> None:
        """Close, once, the adapters it was given that have a ``close()``. A host that shares
        an adapter with other code closes it itself and does not call this."""
        if not self._closed:
            self._closed = True
            self._listeners.clear()
            self._parts.close(self.store, self.bss, self.storefront, self.mailer, self.webhooks)

    def __enter__(self) -> ResellerPlans:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def add_listener(
        self, callback: Callable[[Event], object], *, event_types: Iterable[str] | None = None
    ) -> RemoveListener:
        """Call ``callback(event)`` in this process after each commit, for each event it wrote
        of the types named (``["subscription.activated"]``; every event when None), in order.
        Returns the function that stops it. A callback that raises is logged and the command
        stands; one process's callbacks see only its own commits (the feed sees all).

        Raises:
            InvalidInput: not a callable, an unknown or empty ``event_types``, or a store that
                tells no listener of its commits.
        """
        return self._listeners.add(callback, event_types)

    @correlated
    def resend(self, message_id: str, *, actor: Actor) -> OutboxEntry:
        """Send a message refused for good (or still waiting) again, its attempts started
        over, and record who asked (``MessageResent``). Returns it after the attempt.

        Raises:
            NotFound: no such message. Forbidden: not the subscription's distributor.
            InvalidInput: it was sent already.
        """
        message_id = inputs.identifier(message_id, "message_id")
        return self._parts.outbox.resend(message_id, actor=inputs.parse_actor(actor))

    @correlated
    def check(
        self,
        account_id: str,
        plan: Plan | str,
        *,
        actor: Actor,
        alias: str | None = None,
        account: ResellerAccount | None = None,
    ) -> EligibilityReport:
        """Check whether the account may move to ``plan``; never raises for "not eligible".

        Args:
            account_id: the reseller account.
            plan: the plan asked for.
            actor: who asks (a reseller may check only itself).
            alias: the Storefront Alias asked for, checked for syntax and availability.
            account: the account as the caller already read it (the service manager reads it
                with the platform's token); read from the BSS when None.

        Returns:
            The report with every failing criterion.

        Raises:
            Forbidden: a reseller asking about another account.
            InvalidInput: an unknown plan.
            NotFound: no such account.
            BackendError: the BSS could not be read.
        """
        account_id, target, actor, alias = inputs.check_arguments(account_id, plan, actor, alias)
        authorize_account(actor, account_id)
        inputs.same_account(account, account_id)
        return self._commands.check(account_id, target, actor, alias, account)

    @correlated
    def upgrade(
        self,
        account_id: str,
        plan: Plan | str,
        *,
        actor: Actor,
        alias: str | StorefrontAlias | None = None,
        idempotency_key: str | None = None,
        billing_cycle: BillingCycle | str = BillingCycle.MONTHLY,
        auto_renew: bool = True,
        channel: Channel | str | None = None,
        platform_subscription_id: str | None = None,
        reason: str | None = None,
    ) -> Subscription:
        """Upgrade a reseller from Basic to Free or Standard (or Free to Standard).

        A distributor's upgrade is an order created and executed in the BSS; a reseller's is a
        purchase in the Storefront. Provisioning follows at once: the plan license, the
        reseller's storefront under its alias, the welcome email.

        Args:
            account_id: the reseller account.
            plan: ``Plan.FREE`` or ``Plan.STANDARD``.
            actor: the reseller's distributor, or the reseller itself.
            alias: the Storefront Alias (required from Basic).
            idempotency_key: repeat-safe key of this request, scoped to the actor.
            billing_cycle: monthly or annual.
            auto_renew: whether the term renews by itself.
            channel: where it comes from (default: ``BSS`` for a distributor, ``STOREFRONT``
                for a reseller); ``PLATFORM``: the platform executed the order, none is placed.
            platform_subscription_id: the platform's id of the subscription, when known.
            reason: why, for the audit trail of its events (at most 500 characters).

        Returns:
            The subscription: ``ACTIVE`` when provisioning completed, ``FAILED`` (with
            ``failure_reason``) when it was rolled back, ``PENDING`` with a failed sync status
            when a backend stayed unavailable (``retry`` or ``run_due`` resumes it).

        Raises:
            Forbidden: the actor may not act on the account.
            InvalidAlias: the alias breaks a rule (or is missing).
            NotEligible: with the report of every failing criterion.
            AliasTaken: another reseller holds the alias.
            IllegalTransition: an upgrade of the account is already under way.
            IdempotencyConflict: the key was used with other arguments.
            NotFound: no such account.
            BackendError: the BSS or Storefront could not be read.
        """
        key = inputs.optional_identifier(idempotency_key, "idempotency_key")
        why = inputs.reason(reason)
        upgrade = inputs.upgrade_request(
            account_id, plan, actor, billing_cycle, auto_renew, channel, platform_subscription_id
        )
        upgrade = attrs.evolve(upgrade, alias=inputs.parse_alias(alias))
        authorize_account(upgrade.actor, upgrade.account_id)
        return self._commands.upgrade(upgrade, key, self._new_id, why)

    @correlated
    def run_due(self, now: dt.datetime | None = None) -> DueReport:
        """Do everything that is due at ``now`` (default: the clock's now).

        Resumes interrupted operations, applies scheduled plan changes and cancellations,
        renews or expires ended terms, releases alias holds whose period ended, and sends
        the outbox. Safe to call as often as you like, from a scheduler or a worker loop.

        Raises:
            InvalidInput: ``now`` is not a timezone-aware datetime (a ``date``, a naive
                datetime), or the clock returns naive datetimes.
        """
        at = self._checked_clock.now() if now is None else inputs.instant(now, "now")
        return self._parts.scheduler.run_due(at)


def _configured(
    path: str | Path | None, environ: Mapping[str, str] | None, clock: Clock | None
) -> ResellerPlans:
    from reseller_plans.config import build_plans, load_settings  # noqa: PLC0415 - a cycle

    return build_plans(load_settings(path, environ=environ), clock=clock)
