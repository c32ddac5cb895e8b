"""``Sandbox``: a whole in-memory world around one ``ResellerPlans``, with a clock you advance.

One object holds everything a lifecycle test needs: the fake BSS, Storefront and mailer, a
store (an ``InMemoryStore`` unless given another ``SandboxStore``), a ``FakeClock``, one shared
``Faults`` script (its latency moves the clock), and ``sandbox.plans``, a ``ResellerPlans`` wired
to all of them with deterministic ids.

- **Builders** with eligible defaults: ``sandbox.distributor(...)`` and
  ``sandbox.reseller(distributor, ...)``; say what should be different
  (``addon_inactive=True``, ``reselling_disabled=True``, ``plan=Plan.STANDARD``, ...).
- **Time**: ``sandbox.advance(days=31)`` moves the clock and, before it returns, runs everything
  that became due on the way in time order (term ends, scheduled changes, alias hold expiries),
  exactly as a scheduler calling ``run_due`` at each of those instants would. No threads, no
  polling.
- **What happened**: ``sandbox.emails``, ``sandbox.events`` (every domain event, in order).
- **Guarantees**: ``sandbox.check_invariants()`` raises ``InvariantViolation`` listing every
  broken guarantee of the library (licenses, storefronts, aliases, welcome emails, stuck sagas).
- **Faults and crashes**: ``sandbox.faults.fail(...)``, ``.slow(...)``, ``.crash(...)``; after a
  ``SimulatedCrash``, ``sandbox.restart()`` builds a new ``ResellerPlans`` over the same store.

Like Stripe's test clocks, time only moves when you say so, and moving it does the work.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterable, Sequence
from typing import Literal, SupportsIndex, overload

import attrs

from reseller_plans.domain.accounts import (
    DistributorProfile,
    Edition,
    ResellerAccount,
    ServiceManagerState,
)
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import InvalidInput, NotFound
from reseller_plans.domain.events import Activated, Event
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import (
    BillingCycle,
    Channel,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    add_months,
)
from reseller_plans.ports import EmailMessage, UnitOfWork
from reseller_plans.service import DueReport, MessageRenderer, ResellerPlans
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.fakes import (
    FakeBSS,
    FakeClock,
    FakeStorefront,
    InMemoryMailer,
    sample_distributor,
)
from reseller_plans.testing.faults import Faults
from reseller_plans.testing.sandbox_store import SandboxStore

__all__ = ["DEFAULT_START", "Emails", "InvariantViolation", "Sandbox"]

DEFAULT_START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
"""Where a sandbox's clock starts unless told otherwise."""

_LIVE_PROVISIONED = (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED)


class InvariantViolation(AssertionError):
    """The world breaks one or more of the library's guarantees.

    ``violations`` lists every one, as a readable line; ``str()`` shows them all.
    """

    def __init__(self, violations: Sequence[str]) -> None:
        super().__init__(tuple(violations))
        self.violations: tuple[str, ...] = tuple(violations)

    def __str__(self) -> str:
        count = len(self.violations)
        lines = "\n".join(f"  - {v}" for v in self.violations)
        return f"{count} invariant violation{'s' if count != 1 else ''}:\n{lines}"


class Emails(list[EmailMessage]):
    """The messages the sandbox's mailer sent, in order, with filters that return ``Emails``."""

    def to(self, address: str) -> Emails:
        """The messages sent to ``address``."""
        return Emails(m for m in self if address in m.to)

    def of_kind(self, kind: MessageKind | str) -> Emails:
        """The messages of one kind (a ``MessageKind`` or its value, ``"welcome"``)."""
        wanted = MessageKind(kind)
        return Emails(m for m in self if m.kind is wanted)

    @overload
    def __getitem__(self, index: SupportsIndex) -> EmailMessage: ...

    @overload
    def __getitem__(self, index: slice) -> Emails: ...

    def __getitem__(self, index: SupportsIndex | slice) -> EmailMessage | Emails:
        if isinstance(index, slice):
            return Emails(super().__getitem__(index))
        return super().__getitem__(index)

    @property
    def kinds(self) -> list[MessageKind]:
        """The kind of each message, in order."""
        return [m.kind for m in self]


@attrs.define
class _Ids:
    """Deterministic ids: ``sub_1``, ``sub_2``, ... (a counter survives restarts); the
    correlation ids likewise, ``cor_1``, ``cor_2``, ..."""

    prefix: str
    counter: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.counter)}"


_FIRST_RESELLER = 3542
"""The first reseller's id, as in the emulator's demo world and the docs."""


class Sandbox:
    """A complete in-memory world around a ``ResellerPlans``; see the module docstring.

    Args:
        seed: seeds ``sandbox.random`` (and, through it, anything built from it); the same seed
            and the same calls give the same world.
        start: where the clock starts (aware; ``DEFAULT_START`` by default).
        templates: renders emails (the library's ``Templates`` by default).
        alias_hold: how long a cancelled reseller's alias stays reserved to it.
        retry_budget: attempts per saga step on transient failures.
        keep_messages: keep every sent message in ``sandbox.emails`` (a long simulation turns
            it off and reads ``sandbox.mailer.counts``).
        keep_events: keep every event in commit order for ``sandbox.events`` (a long
            simulation turns it off and watches events with ``store.add_listener``; each
            reseller's ``history`` is kept either way).
        store: the store to run over, empty (``SQLiteStore(":memory:")``, the simulator's
            ``PackedStore``, ...); by default an ``InMemoryStore`` keeping what
            ``keep_messages`` and ``keep_events`` say. The same seed and calls give the same
            world over any of them.

    Attributes:
        plans: the ``ResellerPlans`` under test (replaced by :meth:`restart`).
        clock, faults, bss, storefront, mailer, store: the pieces of the world.
        random: a ``random.Random`` seeded with ``seed``.
    """

    def __init__(
        self,
        seed: int = 0,
        start: dt.datetime | None = None,
        *,
        templates: MessageRenderer | None = None,
        alias_hold: dt.timedelta = dt.timedelta(days=30),
        retry_budget: int = 3,
        keep_messages: bool = True,
        keep_events: bool = True,
        store: SandboxStore | None = None,
    ) -> None:
        self.seed = seed
        self.random = random.Random(seed)  # noqa: S311 - a seeded world, not cryptography
        self.clock = FakeClock(start or DEFAULT_START)
        self.faults = Faults(advance_clock=self._latency)
        self.bss = FakeBSS(self.faults)
        self.storefront = FakeStorefront(self.bss, self.faults)
        self.mailer = InMemoryMailer(self.faults, keep_messages=keep_messages)
        self.store: SandboxStore = store or InMemoryStore(
            keep_sent_context=keep_messages, keep_event_log=keep_events
        )
        self.restarts = 0
        self._templates = templates
        self._alias_hold = alias_hold
        self._retry_budget = retry_budget
        self._new_id = _Ids("sub_")
        self._new_correlation_id = _Ids("cor_")
        self._distributor_numbers = itertools.count(100)
        self._reseller_numbers = itertools.count(1)
        self.plans = self._build_plans()

    def __repr__(self) -> str:
        return (
            f"Sandbox(seed={self.seed}, now={self.clock.now().isoformat()}, "
            f"accounts={len(self.bss.accounts)}, store={self.store!r})"
        )

    def _latency(self, delta: dt.timedelta) -> None:
        self.clock.advance(delta)

    def _build_plans(self) -> ResellerPlans:
        return ResellerPlans(
            bss=self.bss,
            storefront=self.storefront,
            mailer=self.mailer,
            store=self.store,
            clock=self.clock,
            templates=self._templates,
            alias_hold=self._alias_hold,
            retry_budget=self._retry_budget,
            new_id=self._new_id,
            new_correlation_id=self._new_correlation_id,
        )

    def restart(self) -> ResellerPlans:
        """Discard ``plans`` as a crashed process would be, and build a new one over the same
        store, fakes and clock. Work left in progress resumes at the next ``run_due``
        (``advance()`` runs it).

        Returns:
            The new ``ResellerPlans`` (also ``sandbox.plans``).
        """
        self.restarts += 1
        self.plans = self._build_plans()
        return self.plans

    # ------------------------------------------------------------------ builders

    def distributor(
        self,
        distributor_id: str | None = None,
        *,
        name: str | None = None,
        edition: Edition = Edition.DIAMOND,
        addon_inactive: bool = False,
        service_manager: ServiceManagerState = ServiceManagerState.ACTIVE,
        product_missing: Plan | Iterable[Plan] = (),
        storefront_host: str | None = None,
        staff_email: str | None = None,
    ) -> DistributorProfile:
        """Add a distributor, eligible unless told otherwise, to the BSS.

        Args:
            distributor_id: its id (``100``, ``101``, ... by default, as in the emulator).
            name: its name.
            edition: its platform edition (Diamond by default).
            addon_inactive: the Standard Edition Resellers add-on is not active.
            service_manager: the state of the for Resellers Service Manager.
            product_missing: the plan product(s) missing from its catalog.
            storefront_host: the host of its Storefront.
            staff_email: where provisioning failures go.

        Returns:
            The profile, as the BSS now holds it.
        """
        number = next(self._distributor_numbers)
        distributor_id = distributor_id or str(number)
        missing = {product_missing} if isinstance(product_missing, Plan) else set(product_missing)
        values: dict[str, object] = {
            "edition": edition,
            "service_manager": service_manager,
            "plan_products": {
                plan: product
                for plan, product in (
                    (Plan.FREE, "ResellerPlanFree"),
                    (Plan.STANDARD, "ResellerPlanStandard"),
                )
                if plan not in missing
            },
        }
        if addon_inactive:
            values["active_addons"] = frozenset()
        if name is not None:
            values["name"] = name
        if storefront_host is not None:
            values["storefront_host"] = storefront_host
        if staff_email is not None:
            values["staff_email"] = staff_email
        return self.bss.add_distributor(sample_distributor(distributor_id, **values))

    def reseller(
        self,
        distributor: DistributorProfile | str | None = None,
        account_id: str | None = None,
        *,
        name: str | None = None,
        email: str | None = None,
        alias: str | None = None,
        reselling_disabled: bool = False,
        plan: Plan = Plan.BASIC,
        via: Literal["bss", "storefront"] = "bss",
    ) -> ResellerAccount:
        """Add a reseller account, eligible unless told otherwise, to the BSS.

        Args:
            distributor: the distributor it belongs to (the first one, made if needed, by
                default).
            account_id: its id (``3542``, ``3543``, ... by default, as in the emulator).
            name: its name.
            email: its contact email.
            alias: the Storefront Alias it will ask for (``reseller1``, ... by default).
            reselling_disabled: "Enable Reselling" is off.
            plan: the plan it should be on: Free or Standard are bought through
                ``sandbox.plans`` (over ``via``), so the whole world agrees.
            via: the channel of that purchase.

        Returns:
            The account, as the BSS holds it.
        """
        if distributor is None:
            distributor = next(iter(self.bss.distributors.values()), None) or self.distributor()
        distributor_id = distributor if isinstance(distributor, str) else distributor.id
        number = next(self._reseller_numbers)
        account_id = account_id or str(_FIRST_RESELLER + number - 1)
        account = ResellerAccount(
            id=account_id,
            distributor_id=distributor_id,
            name=name or f"Reseller {number}",
            email=email or f"owner@{account_id.lower()}.example",
            reselling_enabled=not reselling_disabled,
            alias=StorefrontAlias.parse(alias or f"reseller{number}"),
        )
        self.bss.add_account(account)
        if plan is not Plan.BASIC:
            self.upgrade(account, plan, via=via)
        return account

    def as_distributor(self, distributor: DistributorProfile | ResellerAccount | str) -> Actor:
        """The distributor as an ``Actor`` (given its profile, its id, or one of its resellers)."""
        if isinstance(distributor, ResellerAccount):
            return Actor.distributor(distributor.distributor_id)
        return Actor.distributor(distributor if isinstance(distributor, str) else distributor.id)

    def as_reseller(self, reseller: ResellerAccount | str) -> Actor:
        """The reseller as an ``Actor``."""
        return Actor.reseller(reseller if isinstance(reseller, str) else reseller.id)

    def _account(self, reseller: ResellerAccount | str) -> ResellerAccount:
        if not isinstance(reseller, str):
            return reseller
        try:  # straight from the fake's state: the harness's own reads meet no scripted fault
            return self.bss.accounts[reseller]
        except KeyError:
            raise NotFound(f"no account {reseller!r} in the sandbox's BSS") from None

    def upgrade(
        self,
        reseller: ResellerAccount | str,
        plan: Plan = Plan.STANDARD,
        *,
        alias: str | None = None,
        via: Literal["bss", "storefront"] = "bss",
        idempotency_key: str | None = None,
        billing_cycle: BillingCycle = BillingCycle.MONTHLY,
        auto_renew: bool = True,
    ) -> Subscription:
        """Upgrade the reseller: its distributor orders in the BSS (``via="bss"``) or the
        reseller buys in the Storefront (``via="storefront"``).

        Args:
            reseller: the account (or its id).
            plan: Free or Standard.
            alias: the Storefront Alias (by default the one its live subscription has, or else
                the one the account was built with).
            via: the channel.
            idempotency_key: passed to ``ResellerPlans.upgrade``.
            billing_cycle: passed to ``ResellerPlans.upgrade``.
            auto_renew: passed to ``ResellerPlans.upgrade``.

        Returns:
            The subscription, as ``ResellerPlans.upgrade`` returned it.

        Raises:
            ResellerPlansError: whatever ``ResellerPlans.upgrade`` raises (``NotEligible``,
                ``AliasTaken``, ...).
        """
        account = self._account(reseller)
        channel = Channel(via)
        actor = (
            self.as_distributor(account) if channel is Channel.BSS else self.as_reseller(account)
        )
        chosen: str | StorefrontAlias | None = alias
        if chosen is None:  # the alias it has, or else the one it was built with
            live = self.plans.subscription_of(account.id)
            chosen = live.alias if live is not None and live.alias else account.alias
        return self.plans.upgrade(
            account.id,
            plan,
            actor=actor,
            alias=chosen,
            idempotency_key=idempotency_key,
            billing_cycle=billing_cycle,
            auto_renew=auto_renew,
        )

    def subscription(self, reseller: ResellerAccount | str) -> Subscription | None:
        """The reseller's live subscription, if any."""
        account_id = reseller if isinstance(reseller, str) else reseller.id
        return self.plans.subscription_of(account_id)

    def plan_of(self, reseller: ResellerAccount | str) -> Plan:
        """The plan the reseller is on."""
        account_id = reseller if isinstance(reseller, str) else reseller.id
        return self.plans.plan_of(account_id)

    # ------------------------------------------------------------------ time

    def now(self) -> dt.datetime:
        """The sandbox's time."""
        return self.clock.now()

    def advance(
        self,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
        months: int = 0,
    ) -> DueReport:
        """Move the clock forward and run everything that became due on the way.

        ``months`` are calendar months (added first, with the day clamped: Jan 31 + 1 month is
        Feb 28), then the rest. ``advance()`` with nothing runs what is due now (work left by a
        crash, unsent email).

        Returns:
            What the ``run_due`` calls on the way did, added up.
        """
        target = add_months(self.clock.now(), months) + dt.timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        return self.advance_to(target)

    def advance_to(self, when: dt.datetime) -> DueReport:
        """Move the clock to ``when`` and, before returning, run everything due by then in time
        order.

        First what is due now; then, repeatedly, the clock steps to the next instant at which
        something is scheduled (a term end, a pending change, an alias hold's expiry), read from
        the store, and ``plans.run_due`` runs at that instant; whatever that makes due before
        ``when`` (the next term of a renewal) is found by the next look. Last the clock moves to
        ``when`` itself. Latency injected on the way moves the clock too, so a slow backend
        delays what follows it, as it would in production.

        Returns:
            What the ``run_due`` calls did, added up.

        Raises:
            InvalidInput: ``when`` is in the past (time only moves forward).
            SimulatedCrash: a scripted crash; ``restart()`` and advance again to resume.
        """
        if when.tzinfo is None:
            raise InvalidInput("advance_to needs an aware datetime")
        at = self.clock.now()
        if when < at:
            raise InvalidInput(f"time only moves forward: {when.isoformat()} is before now")
        store, plans = self.store, self.plans
        reports = [plans.run_due(at)] if store.has_due_work(at) else []
        while (nxt := store.next_due_after(at)) is not None and nxt <= when:
            at = max(nxt, self.clock.now())
            self.clock.set(at)
            reports.append(plans.run_due(at))
        if when > self.clock.now():
            self.clock.set(when)
        final = self.clock.now()
        if final != at and store.has_due_work(final):
            reports.append(plans.run_due(final))
        return _sum(reports)

    def run_due(self) -> DueReport:
        """Run what is due now, without moving the clock."""
        return self.plans.run_due(self.clock.now())

    # ------------------------------------------------------------------ what happened

    @property
    def emails(self) -> Emails:
        """Every message the mailer sent, in order (a snapshot)."""
        return Emails(self.mailer.sent)

    @property
    def events(self) -> list[Event]:
        """Every domain event of every subscription, in the order they happened.

        Raises:
            InvalidInput: the sandbox was built with ``keep_events=False``.
        """
        return self.store.events()

    def history(self, reseller: ResellerAccount | str) -> list[Event]:
        """Every event of every subscription the reseller ever had, in order."""
        account_id = reseller if isinstance(reseller, str) else reseller.id
        with self.store.unit_of_work() as uow:
            return [e for s in uow.subscriptions_of(account_id) for e in uow.history(s.id)]

    # ------------------------------------------------------------------ guarantees

    def check_invariants(self, accounts: Iterable[str] | None = None) -> None:
        """Raise ``InvariantViolation`` listing every broken guarantee (see :meth:`violations`).

        Args:
            accounts: check only these accounts (and what they hold); all by default.
        """
        found = self.violations(accounts)
        if found:
            raise InvariantViolation(found)

    def violations(self, accounts: Iterable[str] | None = None) -> list[str]:
        """Every broken guarantee, as readable lines (empty when all hold).

        For each account:

        - at most one live subscription;
        - no subscription with an operation stuck in progress (after a crash, ``restart()``
          and ``advance()`` resume it);
        - a settled (no operation under way or awaiting retry) active or suspended subscription
          has the license of its plan in the BSS and one storefront under its alias with its
          plan, online unless suspended, and holds its alias in the store and the Storefront;
        - a Basic reseller (no live subscription) has no license and no storefront;
        - every subscription that was activated had its welcome email sent (one waiting in the
          outbox for a retry after a transient mail failure is not a violation yet);
        - the mailer never saw two messages with the same id (outbox entry).

        And across accounts: no alias held by one account in the store and by another in the
        Storefront, nor used by two live subscriptions.

        Subscriptions whose provisioning failed and waits for ``retry`` are exempt from the
        license and storefront checks: that state is reported and retried, not silent.

        Args:
            accounts: check only these accounts and their aliases and messages (cheap, for a
                check after every step); every account and alias by default.
        """
        full = accounts is None
        if accounts is None:  # every account the BSS or the store knows, without a copy of all
            known = self.bss.accounts
            others = [
                s.account_id for s in self.store.iter_subscriptions() if s.account_id not in known
            ]
            accounts = itertools.chain(known, dict.fromkeys(others))
        problems: list[str] = []
        aliases: dict[str, str] = {}
        message_ids: list[str] | None = None if full else []  # a full check reads all counts
        with self.store.unit_of_work() as uow:
            for account_id in accounts:
                self._check_account(uow, account_id, problems, aliases, message_ids)
            # An alias the Storefront gives no one cannot be held by two: a full check looks
            # at every alias the Storefront gives out, without a copy of them.
            for alias in self.storefront.aliases if full else aliases:
                hold = uow.get_alias_hold(alias)
                owner = self.storefront.aliases.get(alias)
                if hold is not None and owner is not None and hold.account_id != owner:
                    problems.append(
                        f"alias {alias!r} is held by {hold.account_id} in the store and by "
                        f"{owner} in the Storefront"
                    )
        counts = self.mailer.counts
        if full:
            twice = sorted(i for i, n in counts.items() if n > 1)
        else:
            twice = sorted(i for i in set(message_ids or ()) if counts[i] > 1)
        problems += [f"message {i!r} was sent {counts[i]} times" for i in twice]
        return problems

    def _check_account(
        self,
        uow: UnitOfWork,
        account_id: str,
        problems: list[str],
        aliases: dict[str, str],
        message_ids: list[str] | None,
    ) -> None:
        subs = uow.subscriptions_of(account_id)
        live = [s for s in subs if s.is_live]
        if len(live) > 1:
            problems.append(
                f"account {account_id} has {len(live)} live subscriptions: "
                + ", ".join(s.id for s in live)
            )
        for sub in subs:
            op = sub.operation
            if op is not None and op.sync is SyncStatus.IN_PROGRESS:
                problems.append(
                    f"{sub.id} of {account_id}: the {op.kind.value} is stuck in progress at "
                    f"step {op.done + 1} of {len(op.steps)} (restart() and advance() resume it)"
                )
            if sub.alias is not None:
                alias = sub.alias.value
                other = aliases.get(alias)
                if sub.is_live and other and other != account_id:
                    problems.append(
                        f"alias {alias!r} is used by live subscriptions of {other} and {account_id}"
                    )
                if sub.is_live or alias not in aliases:
                    aliases[alias] = account_id if sub.is_live else ""
            self._check_welcome(uow, sub, problems, message_ids)
        license_ = self.bss.licenses.get(account_id)
        storefront = self.storefront.storefronts.get(account_id)
        current = live[0] if live else None
        if current is None:
            if license_ is not None:
                problems.append(
                    f"account {account_id} is on Basic but holds a {license_.title} license"
                )
            if storefront is not None:
                problems.append(
                    f"account {account_id} is on Basic but has a storefront under "
                    f"{storefront.alias!r}"
                )
            return
        if current.operation is not None or current.status not in _LIVE_PROVISIONED:
            return  # activation under way, or provisioning awaiting retry
        where = f"{current.id} of {account_id} ({current.status.value}, {current.plan.title})"
        if license_ is not current.plan:
            held = "no license" if license_ is None else f"a {license_.title} license"
            problems.append(f"{where} has {held}")
        alias = "" if current.alias is None else current.alias.value
        if storefront is None:
            problems.append(f"{where} has no storefront")
        else:
            if storefront.alias != alias or storefront.plan is not current.plan:
                problems.append(
                    f"{where} has a storefront for {storefront.plan.title} under "
                    f"{storefront.alias!r}, not {alias!r}"
                )
            online = current.status is SubscriptionStatus.ACTIVE
            if storefront.online is not online:
                state = "online" if storefront.online else "offline"
                problems.append(f"{where} has its storefront {state}")
        if alias:
            owner = self.storefront.aliases.get(alias)
            hold = uow.get_alias_hold(alias)
            if owner != account_id:
                problems.append(f"{where}: the Storefront gives alias {alias!r} to {owner}")
            if hold is None or hold.account_id != account_id:
                holder = None if hold is None else hold.account_id
                problems.append(f"{where}: the store holds alias {alias!r} for {holder}")

    def _check_welcome(
        self,
        uow: UnitOfWork,
        sub: Subscription,
        problems: list[str],
        message_ids: list[str] | None,
    ) -> None:
        entries = uow.outbox_of(sub.id)
        if message_ids is not None:
            message_ids += [e.id for e in entries]
        welcomes = [e for e in entries if e.kind is MessageKind.WELCOME]
        if not welcomes:
            if sub.status in _LIVE_PROVISIONED:
                activated = True
            elif sub.status is SubscriptionStatus.CANCELLED:  # read its history only then
                activated = any(isinstance(e, Activated) for e in uow.history(sub.id))
            else:
                activated = False
            if not activated:
                return
            problems.append(f"{sub.id} of {sub.account_id} was activated without a welcome email")
            return
        counts = self.mailer.counts
        if any(counts[e.id] for e in welcomes):
            return
        if any(e.sent_at is None and not e.failed_permanently for e in welcomes):
            return  # waiting for the next run_due after a transient failure
        reasons = "; ".join(e.last_error or "marked sent" for e in welcomes)
        problems.append(
            f"{sub.id} of {sub.account_id}: the welcome email never reached the mailer ({reasons})"
        )


def _sum(reports: Sequence[DueReport]) -> DueReport:
    return DueReport(
        subscriptions=sum(r.subscriptions for r in reports),
        renewals=sum(r.renewals for r in reports),
        emails_sent=sum(r.emails_sent for r in reports),
        emails_failed=sum(r.emails_failed for r in reports),
        aliases_released=sum(r.aliases_released for r in reports),
    )
