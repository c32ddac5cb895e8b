"""The outbox sender: renders waiting messages, hands them to the mailer, records how it went.

A message is written to the outbox in the unit of work that makes it due and sent after the
commit. A sender first claims it (one send per claim: two senders never send it at once), then
sends it, then marks it sent. A process that dies in between, or a mail server whose reply to
DATA is lost, leaves the claim to end and the message to go again with the same id (its
Message-ID): at least once, never lost, and a receiver can tell a repeat by its Message-ID. A
message the mail server refuses for good is marked so and not tried again; a transient refusal
leaves it for the next ``run_due``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import attrs

from reseller_plans.domain.errors import ResellerPlansError, TransientBackendError
from reseller_plans.domain.messages import MessageKind
from reseller_plans.logs import get_logger
from reseller_plans.ports import Clock, EmailMessage, Mailer, OutboxEntry, Store
from reseller_plans.service.leases import Ownership

__all__ = ["MessageRenderer", "OutboxSender", "RenderedMessage"]

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
            entries = [e for e in uow.outbox_of(subscription_id) if _waiting(e)]
        for entry in entries:
            self.send(entry)

    def send_all(self) -> tuple[int, int]:
        """Send every waiting message. Returns (sent, not sent)."""
        sent = failed = 0
        with self.store.unit_of_work() as uow:
            entries = uow.unsent_outbox(limit=_BATCH)
        for entry in entries:
            if self.send(entry):
                sent += 1
            else:
                failed += 1
        return sent, failed

    def send(self, entry: OutboxEntry) -> bool:
        """Claim one message, send it and record the attempt. Returns whether the mailer
        accepted it (False too when another sender holds its claim)."""
        now = self.clock.now()
        until = now + self.ownership.settings.outbox_claim
        owner = self.ownership.new_owner()
        with self.store.unit_of_work() as uow:
            claimed = uow.claim_outbox(entry.id, owner, now=now, until=until)
        if claimed is None:
            return False  # sent meanwhile, or another sender is sending it
        entry = claimed
        if not entry.to:
            logger.warning("message %s has no recipient; not sent", entry.id)
            updated = attrs.evolve(entry, failed_permanently=True, last_error="no recipient")
            with self.store.unit_of_work() as uow:
                uow.update_outbox(updated)
            return False
        try:
            rendered = self.templates.render(entry.kind, entry.context)
            message = EmailMessage(
                entry.id, entry.kind, entry.to, rendered.subject, rendered.text, rendered.html
            )
            self.mailer.send(message)
        except TransientBackendError as exc:
            updated = attrs.evolve(entry, attempts=entry.attempts + 1, last_error=str(exc))
            ok = False
        except ResellerPlansError as exc:
            updated = attrs.evolve(
                entry, attempts=entry.attempts + 1, last_error=str(exc), failed_permanently=True
            )
            ok = False
        except BaseException:
            # Going down mid-send (it may have left): end the claim, so that it goes again,
            # with the same Message-ID, rather than wait for the claim to run out.
            with self.store.unit_of_work() as uow:
                uow.update_outbox(entry)
            raise
        else:
            updated = attrs.evolve(entry, attempts=entry.attempts + 1, sent_at=self.clock.now())
            ok = True
        with self.store.unit_of_work() as uow:
            uow.update_outbox(updated)
        return ok


def _waiting(entry: OutboxEntry) -> bool:
    return entry.sent_at is None and not entry.failed_permanently
