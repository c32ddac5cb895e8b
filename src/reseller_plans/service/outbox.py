"""The outbox sender: renders waiting messages, hands them to the mailer, records how it went.

A message is written to the outbox in the unit of work that makes it due and sent after the
commit. A sender first claims it (one send per claim: two senders never send it at once), then
sends it, then marks it sent. A process that dies in between, or a mail server whose reply to
DATA is lost, leaves the claim to end and the message to go again with the same id (its
Message-ID): at least once, never lost, and a receiver can tell a repeat by its Message-ID. A
message the mail server refuses for good is marked so, recorded as a ``MessageFailed`` event in
its subscription's history, and not tried again until someone resends it (``resend``: its
attempts start over, and a ``MessageResent`` event says who asked); a transient refusal leaves
it for the next ``run_due``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Protocol

import attrs

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.errors import (
    ConcurrentUpdate,
    InvalidInput,
    NotFound,
    ResellerPlansError,
    TransientBackendError,
)
from reseller_plans.domain.events import MessageFailed, MessageResent
from reseller_plans.domain.messages import MessageKind, MessageStatus
from reseller_plans.logs import get_logger
from reseller_plans.ports import Clock, EmailMessage, Mailer, OutboxEntry, Store
from reseller_plans.service.access import authorize_subscription
from reseller_plans.service.auditing import acting, stamp
from reseller_plans.service.leases import Ownership

__all__ = ["MessageRenderer", "OutboxSender", "OutboxTally", "RenderedMessage", "Sending"]

logger = get_logger("service")

_BATCH = 10_000


class RenderedMessage(Protocol):
    """A rendered message: what ``MessageRenderer.render`` returns."""

    @property
    def subject(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def html(self) -> str: ...


class MessageRenderer(Protocol):
    """Turns a message kind and its context into subject, text and HTML."""

    def render(self, kind: MessageKind, context: Mapping[str, str]) -> RenderedMessage: ...


class Sending(enum.Enum):
    """How one attempt to send a message went."""

    SENT = "sent"
    WAITING = "waiting"
    """Not sent (the mail server failed for now): it goes again later."""
    REFUSED = "refused"
    """Refused for good: it waits for someone to resend it."""
    ELSEWHERE = "elsewhere"
    """Not tried: another sender holds its claim, or it was sent (or refused) meanwhile."""


@attrs.frozen
class OutboxTally:
    """What one pass over the outbox did."""

    sent: int = 0
    waiting: int = 0
    refused: int = 0
    elsewhere: int = 0
    """Not tried: another sender had them, or sent them meanwhile."""


class OutboxSender:
    """Sends the outbox of one subscription, or all of it."""

    def __init__(
        self,
        store: Store,
        mailer: Mailer,
        templates: MessageRenderer,
        clock: Clock,
        ownership: Ownership,
    ) -> None:
        self.store = store
        self.mailer = mailer
        self.templates = templates
        self.clock = clock
        self.ownership = ownership

    def send_of(self, subscription_id: str) -> None:
        """Send the subscription's waiting messages (sending never changes the subscription)."""
        with self.store.unit_of_work() as uow:
            entries = uow.outbox_of(subscription_id)
        entries = [e for e in entries if e.status is MessageStatus.WAITING]
        for entry in entries:
            self.send(entry)

    def send_all(self) -> OutboxTally:
        """Send every waiting message."""
        with self.store.unit_of_work() as uow:
            entries = uow.unsent_outbox(limit=_BATCH)
        results = [self.send(entry) for entry in entries]
        return OutboxTally(
            sent=results.count(Sending.SENT),
            waiting=results.count(Sending.WAITING),
            refused=results.count(Sending.REFUSED),
            elsewhere=results.count(Sending.ELSEWHERE),
        )

    def send(self, entry: OutboxEntry) -> Sending:
        """Claim one message, send it and record the attempt."""
        now = self.clock.now()
        until = now + self.ownership.settings.outbox_claim
        owner = self.ownership.new_owner()
        with self.store.unit_of_work() as uow:
            claimed = uow.claim_outbox(entry.id, owner, now=now, until=until)
        if claimed is None:
            return Sending.ELSEWHERE  # sent meanwhile, or another sender is sending it
        return self._deliver(claimed)

    def _deliver(self, entry: OutboxEntry) -> Sending:
        """Send a message this sender has claimed, and record the attempt."""
        if not entry.to:
            logger.warning("message %s has no recipient; not sent", entry.id)
            self._refused(attrs.evolve(entry, failed_permanently=True, last_error="no recipient"))
            return Sending.REFUSED
        try:
            rendered = self.templates.render(entry.kind, entry.context)
            message = EmailMessage(
                entry.id, entry.kind, entry.to, rendered.subject, rendered.text, rendered.html
            )
            self.mailer.send(message)
        except TransientBackendError as exc:
            updated = attrs.evolve(entry, attempts=entry.attempts + 1, last_error=str(exc))
            result = Sending.WAITING
        except ResellerPlansError as exc:
            logger.warning("message %s was refused for good: %s", entry.id, exc)
            attempts = entry.attempts + 1
            self._refused(
                attrs.evolve(entry, attempts=attempts, last_error=str(exc), failed_permanently=True)
            )
            return Sending.REFUSED
        except BaseException:
            # Going down mid-send (it may have left): end the claim, so that it goes again,
            # with the same Message-ID, rather than wait for the claim to run out.
            with self.store.unit_of_work() as uow:
                uow.update_outbox(entry)
            raise
        else:
            updated = attrs.evolve(entry, attempts=entry.attempts + 1, sent_at=self.clock.now())
            result = Sending.SENT
        with self.store.unit_of_work() as uow:
            uow.update_outbox(updated)
        return result

    def _refused(self, entry: OutboxEntry) -> None:
        """Mark the message refused for good, and say so in its subscription's history."""
        event = MessageFailed(
            entry.subscription_id, self.clock.now(), entry.id, entry.kind.value,
            entry.last_error or "",
        )  # fmt: skip
        with self.store.unit_of_work() as uow:
            uow.update_outbox(entry)
            uow.record_events(stamp([event]))

    def resend(self, message_id: str, *, actor: Actor) -> OutboxEntry:
        """Send a message again, its attempts started over: one refused for good, or one
        still waiting. Records who asked (``MessageResent``) and returns the message as stored
        after the attempt.

        Raises:
            NotFound: no such message.
            Forbidden: a reseller, or another distributor (resending is the distributor's).
            InvalidInput: it was sent already.
            ConcurrentUpdate: another sender is sending it now (retryable: nothing changed).
        """
        with acting(actor):
            return self._resend(message_id, actor)

    def _resend(self, message_id: str, actor: Actor) -> OutboxEntry:
        now = self.clock.now()
        until = now + self.ownership.settings.outbox_claim
        with self.store.unit_of_work() as uow:
            entry = uow.get_outbox(message_id)
            if entry is None:
                raise NotFound(f"no message {message_id!r} in the outbox")
            sub = uow.get(entry.subscription_id)
            if sub is None:
                raise NotFound(f"message {message_id} is of no stored subscription")
            authorize_subscription(actor, sub, distributor_only=True)
            if entry.sent_at is not None:
                raise InvalidInput(
                    f"message {message_id} was sent at "
                    f"{entry.sent_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC: nothing to resend"
                )
            claimed = uow.reclaim_outbox(
                message_id, self.ownership.new_owner(), now=now, until=until
            )
            if claimed is None:  # another sender holds it (or it was sent meanwhile)
                raise ConcurrentUpdate(
                    f"message {message_id} is being sent by another sender: look again in a "
                    "moment, and resend it if it is still not sent"
                )
            asked = MessageResent(
                entry.subscription_id, now, entry.id, entry.kind.value, str(actor)
            )
            uow.record_events(stamp([asked]))
        self._deliver(claimed)
        with self.store.unit_of_work() as uow:
            return uow.get_outbox(message_id) or claimed
