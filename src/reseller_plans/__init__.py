"""reseller_plans: reseller plans (Basic, Free, Standard) on a cloud-commerce platform.

The public API lives here; everything else is an implementation detail unless its module says
otherwise. See ``docs/index.md``.
"""

import logging

from reseller_plans.correlation import correlate, current_correlation_id
from reseller_plans.domain import (
    Actor,
    AliasTaken,
    BackendError,
    ChangePending,
    ConcurrentUpdate,
    DistributorProfile,
    Edition,
    EligibilityFailure,
    EligibilityReport,
    FailureCode,
    Forbidden,
    IdempotencyConflict,
    IllegalTransition,
    InvalidAlias,
    InvalidInput,
    Move,
    NotEligible,
    NotFound,
    PermanentBackendError,
    Plan,
    ResellerAccount,
    ResellerPlansError,
    ServiceManagerState,
    StorefrontAlias,
    SubscriptionBusy,
    Timing,
    TransientBackendError,
    check_eligibility,
    plan_move,
)
from reseller_plans.domain.audit import Audit
from reseller_plans.domain.events import Event
from reseller_plans.domain.feed import EventPage, FeedEvent
from reseller_plans.domain.messages import MessageKind, MessageStatus
from reseller_plans.domain.subscription import (
    BillingCycle,
    Channel,
    PendingChange,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    Term,
)
from reseller_plans.service import (
    DueFailure,
    DueReport,
    LeaseSettings,
    Preview,
    Repaired,
    ResellerPlans,
)
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.stores.sqlite import SQLiteStore

__version__ = "0.1.0.dev0"

# A library never configures logging: without a handler of the application's, our records go
# nowhere (rather than to Python's last-resort handler on stderr).
logging.getLogger("reseller_plans").addHandler(logging.NullHandler())

__all__ = [
    # the service
    "ResellerPlans",
    "DueReport",
    "DueFailure",
    "Repaired",
    "LeaseSettings",
    "Preview",
    "SQLiteStore",
    "InMemoryStore",
    # subscriptions
    "Subscription",
    "SubscriptionStatus",
    "SyncStatus",
    "BillingCycle",
    "Channel",
    "PendingChange",
    "Term",
    "Event",
    "EventPage",
    "FeedEvent",
    # who did what
    "Audit",
    "correlate",
    "current_correlation_id",
    "MessageKind",
    "MessageStatus",
    # plans and moves
    "Plan",
    "Timing",
    "Move",
    "plan_move",
    # who is who
    "Actor",
    "DistributorProfile",
    "Edition",
    "ResellerAccount",
    "ServiceManagerState",
    "StorefrontAlias",
    # eligibility
    "EligibilityFailure",
    "EligibilityReport",
    "FailureCode",
    "check_eligibility",
    # errors
    "ResellerPlansError",
    "InvalidInput",
    "InvalidAlias",
    "NotEligible",
    "Forbidden",
    "IllegalTransition",
    "ChangePending",
    "AliasTaken",
    "IdempotencyConflict",
    "NotFound",
    "BackendError",
    "TransientBackendError",
    "PermanentBackendError",
    "ConcurrentUpdate",
    "SubscriptionBusy",
    "__version__",
]
