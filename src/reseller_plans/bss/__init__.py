"""The BSS adapter: ``BSSClient`` implements the ``BSS`` port over the BSS REST API v3, and
``AsyncBSSClient`` is its async twin (``docs/async.md``).

Configure what the platform does not document with :class:`BSSWireConfig`; see
``docs/adapters.md``.
"""

from reseller_plans.bss.async_client import AsyncBSSClient
from reseller_plans.bss.client import BSSClient, PlatformSubscription
from reseller_plans.bss.oauth import AsyncPasswordGrant, PasswordGrant
from reseller_plans.bss.patch import PatchOperation
from reseller_plans.bss.wire import BSSWireConfig

__all__ = [
    "AsyncBSSClient",
    "AsyncPasswordGrant",
    "BSSClient",
    "BSSWireConfig",
    "PasswordGrant",
    "PatchOperation",
    "PlatformSubscription",
]
