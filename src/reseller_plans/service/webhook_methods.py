"""The façade's webhook methods: the operator's list, redrive and skip of deliveries.

``ResellerPlans`` inherits them; each delegates to ``service.deliveries.Deliveries``. The
deliveries themselves are made by the notifier that ``run_due`` runs
(``ResellerPlans(webhooks=WebhookNotifier(...))``).
"""

from __future__ import annotations

from collections.abc import Iterator

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.deliveries import DeliveryRecord, DeliveryState
from reseller_plans.service.wiring import Parts

__all__ = ["WebhookMethods"]


class WebhookMethods:
    """The webhook deliveries of ``ResellerPlans``."""

    _parts: Parts

    def webhook_deliveries(
        self,
        *,
        state: DeliveryState | str | None = None,
        endpoint_id: str | None = None,
        subscription_id: str | None = None,
        page_size: int = 100,
    ) -> Iterator[DeliveryRecord]:
        """The webhook deliveries in that state (``"dead"``: dead letters waiting for an
        operator; ``"pending"``: not delivered yet), to that endpoint, of that subscription,
        by endpoint and in the feed's order, read lazily page by page.

        Raises:
            InvalidInput: a store that keeps no deliveries, an unknown state, an empty id or
                a page size below 1 (at once).
        """
        return self._parts.deliveries.list(
            state=state, endpoint_id=endpoint_id, subscription_id=subscription_id,
            page_size=page_size,
        )  # fmt: skip

    def redrive_webhook(self, endpoint_id: str, event_id: str, *, actor: Actor) -> DeliveryRecord:
        """Send a dead (or skipped) webhook delivery again, under the same id, on a fresh
        budget: it is due at once, and the next ``run_due`` sends it (in its subscription's
        order). Who asked and when are recorded on it (``redriven_by``, ``redriven_at``).

        Raises:
            InvalidInput: a store that keeps no deliveries, or the delivery is pending or delivered.
            NotFound: no such delivery.
            Forbidden: a reseller, or another distributor.
            ConcurrentUpdate: it changed meanwhile (retryable).
        """
        return self._parts.deliveries.redrive(endpoint_id, event_id, actor=actor)

    def skip_webhook(self, endpoint_id: str, event_id: str, *, actor: Actor) -> DeliveryRecord:
        """Give a dead (or pending) webhook delivery up, so that the later events of its
        subscription go on; who asked and when are recorded on it.

        Raises:
            InvalidInput: a store that keeps no deliveries, or the delivery is delivered or
                skipped already.
            NotFound: no such delivery.
            Forbidden: a reseller, or another distributor.
            ConcurrentUpdate: a notifier is sending it now, or it changed meanwhile.
        """
        return self._parts.deliveries.skip(endpoint_id, event_id, actor=actor)
