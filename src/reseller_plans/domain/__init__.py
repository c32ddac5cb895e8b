"""The pure domain of reseller plans: values and decisions, no I/O.

Nothing here imports outside the standard library and attrs, reads a clock, draws random
numbers or talks to a network. Adapters hand it facts; it decides.
"""

from reseller_plans.domain.accounts import (
    ELIGIBLE_EDITIONS,
    STANDARD_EDITION_RESELLERS_ADDON,
    DistributorProfile,
    Edition,
    ResellerAccount,
    ServiceManagerState,
)
from reseller_plans.domain.actors import Actor, ActorKind
from reseller_plans.domain.alias import RESERVED_ALIASES, StorefrontAlias
from reseller_plans.domain.eligibility import (
    EligibilityFailure,
    EligibilityReport,
    FailureCode,
    check_eligibility,
)
from reseller_plans.domain.errors import (
    AliasTaken,
    BackendError,
    ChangePending,
    ConcurrentUpdate,
    Forbidden,
    IdempotencyConflict,
    IllegalTransition,
    InvalidAlias,
    InvalidInput,
    NotEligible,
    NotFound,
    PermanentBackendError,
    ResellerPlansError,
    SubscriptionBusy,
    TransientBackendError,
)
from reseller_plans.domain.plans import PLAN_MOVES, Move, Plan, Timing, plan_move

__all__ = [
    "ELIGIBLE_EDITIONS",
    "PLAN_MOVES",
    "RESERVED_ALIASES",
    "STANDARD_EDITION_RESELLERS_ADDON",
    "Actor",
    "ActorKind",
    "AliasTaken",
    "BackendError",
    "ChangePending",
    "ConcurrentUpdate",
    "SubscriptionBusy",
    "DistributorProfile",
    "Edition",
    "EligibilityFailure",
    "EligibilityReport",
    "FailureCode",
    "Forbidden",
    "IdempotencyConflict",
    "IllegalTransition",
    "InvalidAlias",
    "InvalidInput",
    "Move",
    "NotEligible",
    "NotFound",
    "PermanentBackendError",
    "Plan",
    "ResellerAccount",
    "ResellerPlansError",
    "ServiceManagerState",
    "StorefrontAlias",
    "Timing",
    "TransientBackendError",
    "check_eligibility",
    "plan_move",
]
