"""Webhooks: the library's event feed delivered to the host's HTTP endpoints, signed.

Deliveries are signed as Standard Webhooks does (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``; ``whsec_`` secrets, several signatures while a secret rotates), so a
receiver can check them with :func:`verify` or any Standard Webhooks library. The pieces, in the
order the feed uses them:

- :class:`Endpoint`: a receiver's URL, its secrets (:class:`WebhookSecret`,
  :class:`RetiredSecret` while rotating) and the event types it wants;
- :func:`render_envelope`: an event as the versioned JSON body, the same bytes every time;
- :func:`build_request` and :class:`WebhookSender`: one signed POST per attempt, its answer read
  into an :class:`AttemptResult` (:func:`read_response`), never raising for the receiver;
- the delivery rules, from :mod:`reseller_plans.domain.deliveries`: :func:`record_attempt`
  (backoff with jitter, dead letter once :class:`DeliverySettings`' budget is spent),
  :func:`redrive` and :func:`skip`; and from :mod:`reseller_plans.domain.delivery_order`:
  :func:`sendable` and :func:`next_due` (in order per subscription and endpoint; a dead
  letter holds back the rest by default);
- :class:`WebhookNotifier`: the store's feed delivered from ``run_due`` (or a worker of the
  host's own): each endpoint's new events ingested, then every delivery that may go sent under
  a claim, at least once and in order per subscription (:class:`WebhookTally` says what a
  pass did);
- for receivers: :func:`verify`, raising :class:`WebhookVerificationError`.

Needs the ``webhooks`` extra: ``pip install 'reseller-plans[webhooks]'``.
"""

from reseller_plans.domain.deliveries import (
    DEFAULT_BACKOFF,
    AttemptOutcome,
    AttemptResult,
    DeadReason,
    DeliveryRecord,
    DeliverySettings,
    DeliveryState,
    Ordering,
    record_attempt,
    redrive,
    retry_delay,
    skip,
)
from reseller_plans.domain.delivery_order import Deliverable, next_due, sendable
from reseller_plans.webhooks.endpoints import Endpoint, check_event_type
from reseller_plans.webhooks.envelope import ENVELOPE_VERSION, envelope_of, render_envelope
from reseller_plans.webhooks.keys import SECRET_PREFIX, RetiredSecret, WebhookSecret
from reseller_plans.webhooks.notifier import DEFAULT_CLAIM, WebhookNotifier, WebhookTally
from reseller_plans.webhooks.sender import (
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUTS,
    USER_AGENT,
    WebhookRequest,
    WebhookSender,
    build_request,
    read_response,
)
from reseller_plans.webhooks.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_ID_HEADER,
    signature_headers,
)
from reseller_plans.webhooks.verify import (
    DEFAULT_TOLERANCE,
    VerificationFailure,
    WebhookVerificationError,
    verify,
)

__all__ = [
    # endpoints and their secrets
    "Endpoint",
    "WebhookSecret",
    "RetiredSecret",
    "SECRET_PREFIX",
    "check_event_type",
    # the body
    "ENVELOPE_VERSION",
    "render_envelope",
    "envelope_of",
    # signing and sending
    "WEBHOOK_ID_HEADER",
    "TIMESTAMP_HEADER",
    "SIGNATURE_HEADER",
    "signature_headers",
    "USER_AGENT",
    "DEFAULT_TIMEOUTS",
    "DEFAULT_DEADLINE",
    "WebhookRequest",
    "WebhookSender",
    "build_request",
    "read_response",
    # the delivery rules
    "AttemptOutcome",
    "AttemptResult",
    "DeliveryState",
    "DeadReason",
    "Ordering",
    "DeliverySettings",
    "DEFAULT_BACKOFF",
    "DeliveryRecord",
    "Deliverable",
    "record_attempt",
    "retry_delay",
    "redrive",
    "skip",
    "sendable",
    "next_due",
    # the feed, delivered
    "WebhookNotifier",
    "WebhookTally",
    "DEFAULT_CLAIM",
    # for receivers
    "verify",
    "DEFAULT_TOLERANCE",
    "VerificationFailure",
    "WebhookVerificationError",
]
