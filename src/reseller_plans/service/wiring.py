"""The service's composition root: the collaborators of one ``ResellerPlans``, wired once.

Every part gets the same store, clock and lease settings; the façade only delegates to them.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import Protocol

import attrs

from reseller_plans.delivery_log import DeliveryLog
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.ports import BSS, Clock, Mailer, Store, Storefront, UnitOfWork
from reseller_plans.service.commands import Commands
from reseller_plans.service.deliveries import Deliveries, Notifier
from reseller_plans.service.driver import SagaDriver
from reseller_plans.service.leases import LeaseSettings, Ownership
from reseller_plans.service.outbox import MessageRenderer, OutboxSender
from reseller_plans.service.preview import PreviewCommands, Previews
from reseller_plans.service.queries import Queries
from reseller_plans.service.scheduler import Scheduler

__all__ = [
    "Configured",
    "OpenStore",
    "Parts",
    "check_deadlines",
    "check_delivery_log",
    "check_ports",
    "wire",
]


class OpenStore:
    """The store as the parts see it: refused, with a clear error, once the façade is closed."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.closed = False

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        if self.closed:
            raise InvalidInput("this ResellerPlans is closed: build another one to go on")
        return self._store.unit_of_work()

    def close(self) -> None:
        self.closed = True


@attrs.frozen
class Parts:
    """What a ``ResellerPlans`` delegates to."""

    commands: Commands
    scheduler: Scheduler
    queries: Queries
    previews: PreviewCommands
    store: OpenStore
    outbox: OutboxSender
    deliveries: Deliveries
    webhooks: Notifier | None

    def close(self, *adapters: object) -> None:
        """Refuse every later call, then close each adapter that has a ``close()``."""
        self.store.close()
        for adapter in adapters:
            close = getattr(adapter, "close", None)
            if callable(close):
                close()


class Configured(Protocol):
    """What the façade was built with, as the parts are wired from it."""

    bss: BSS
    storefront: Storefront
    mailer: Mailer
    store: Store
    templates: MessageRenderer
    alias_hold: dt.timedelta
    retry_budget: int
    staff_email: str | None
    leases: LeaseSettings
    webhooks: Notifier | None


def wire(configured: Configured, clock: Clock) -> Parts:
    """Wire the collaborators from what the façade was given, with time read from ``clock``.

    Raises:
        InvalidInput: a ``retry_budget`` below 1, a negative ``alias_hold``, or an adapter
            whose calls may outlast the lease settings' ``step_deadline``.
    """
    bss, storefront, mailer = configured.bss, configured.storefront, configured.mailer
    check_deadlines(configured.leases, bss=bss, storefront=storefront)
    check_ports(bss=bss, storefront=storefront, mailer=mailer, store=configured.store)
    if configured.webhooks is not None:
        check_delivery_log(configured.store, configured.webhooks)
    alias_hold, retry_budget = configured.alias_hold, configured.retry_budget
    if retry_budget < 1:
        raise InvalidInput("retry_budget must be at least 1")
    if alias_hold < dt.timedelta(0):
        raise InvalidInput("alias_hold must not be negative")
    store = OpenStore(configured.store)
    ownership = Ownership(store, clock, configured.leases)
    outbox = OutboxSender(store, mailer, configured.templates, clock, ownership)
    driver = SagaDriver(
        bss=bss,
        storefront=storefront,
        store=store,
        clock=clock,
        outbox=outbox,
        ownership=ownership,
        alias_hold=alias_hold,
        retry_budget=retry_budget,
        staff_email=configured.staff_email,
    )
    return Parts(
        Commands(driver, clock),
        Scheduler(driver, configured.webhooks),
        Queries(store),
        PreviewCommands(Previews(driver, clock)),
        store,
        outbox,
        Deliveries(store, clock),
        configured.webhooks,
    )


def check_deadlines(leases: LeaseSettings, **adapters: object) -> None:
    """Refuse adapters whose one call may take longer than a step may (``step_deadline``):
    the lease, which outlasts a step by ``margin``, would then end under a call in flight.

    An adapter tells the hard total of one call, all attempts and waits included, as its
    ``deadline`` in seconds or as a ``timedelta`` (the HTTP adapters' ``RetryPolicy.deadline``);
    one that does not (a fake, a host's own adapter) is taken to fit.

    Raises:
        InvalidInput: naming the adapter, its deadline and the settings to change; or a
            deadline that is not a positive number (NaN, negative, text, a bool).
    """
    limit = leases.step_deadline.total_seconds()
    for name, adapter in adapters.items():
        seconds = getattr(adapter, "deadline", None)
        if seconds is None or callable(seconds):
            continue
        if isinstance(seconds, dt.timedelta):
            seconds = seconds.total_seconds()
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise InvalidInput(
                f"the {name} adapter's deadline must be positive seconds (or a timedelta), "
                f"not {seconds!r}"
            )
        if seconds > limit:
            raise InvalidInput(
                f"the {name} adapter's calls may take up to {seconds:g} s (its RetryPolicy "
                f"deadline), longer than a step may ({limit:g} s, LeaseSettings.step_deadline): "
                "a lease could end under a call in flight; lower the adapter's deadline or raise "
                "step_deadline and lease"
            )


_PORTS: dict[str, type] = {"bss": BSS, "storefront": Storefront, "mailer": Mailer}


def _missing(adapter: object, port: type) -> list[str]:
    """The public methods of ``port`` that ``adapter`` lacks, sorted."""
    methods = sorted(n for n, v in vars(port).items() if callable(v) and not n.startswith("_"))
    return [m for m in methods if not callable(getattr(adapter, m, None))]


def check_ports(*, store: Store, **adapters: object) -> None:
    """Refuse an adapter, or a store's unit of work, that lacks a method of its port: a host's
    own adapter or store written for an earlier version of the library would otherwise fail
    in the middle of some later call (a takeover's read, a failed message's event).

    Opens one unit of work of the store, to look at it, and writes nothing.

    Raises:
        InvalidInput: naming the adapter (or the store) and every method it lacks.
    """
    for name, adapter in adapters.items():
        missing = _missing(adapter, _PORTS[name])
        if missing:
            raise InvalidInput(
                f"the {name} adapter {type(adapter).__name__} lacks {', '.join(missing)} of the "
                f"{_PORTS[name].__name__} port (see the CHANGELOG for what each version added)"
            )
    with store.unit_of_work() as uow:
        missing = _missing(uow, UnitOfWork)
    if missing:
        raise InvalidInput(
            f"the store {type(store).__name__}'s unit of work lacks {', '.join(missing)} of the "
            "UnitOfWork port (see the CHANGELOG for what each version added)"
        )


def check_delivery_log(store: Store, webhooks: object) -> None:
    """Refuse webhooks over a store that cannot carry them: one whose unit of work lacks the
    ``DeliveryLog`` port (the simulator's ``PackedStore``), or that keeps no feed
    (``InMemoryStore(keep_event_log=False)``). Opens one unit of work, and writes nothing.

    Raises:
        InvalidInput: naming the store and what it lacks, or a ``webhooks`` that is not a
            notifier.
    """
    if not callable(getattr(webhooks, "deliver_due", None)):
        raise InvalidInput(
            f"webhooks must be a WebhookNotifier (or have deliver_due), not {webhooks!r}"
        )
    with store.unit_of_work() as uow:
        missing = _missing(uow, DeliveryLog)
        if missing:
            raise InvalidInput(
                f"the store {type(store).__name__} keeps no webhook deliveries (its unit of "
                f"work lacks {', '.join(missing)} of the DeliveryLog port): use SQLiteStore, "
                "PostgresStore or InMemoryStore for webhooks"
            )
        try:
            uow.events_after(None, 1)
        except InvalidInput as exc:
            raise InvalidInput(f"webhooks deliver the store's feed, and {exc}") from None
