"""The BSS adapter: ``BSSClient`` implements the ``BSS`` port over the BSS REST API v3.

Configure what the platform does not document with :class:`BSSWireConfig`; see
``docs/adapters.md``.
"""

from reseller_plans.bss.client import BSSClient, PlatformSubscription
from reseller_plans.bss.oauth import PasswordGrant
from reseller_plans.bss.patch import PatchOperation
from reseller_plans.bss.wire import BSSWireConfig

__all__ = ["BSSClient", "BSSWireConfig", "PasswordGrant", "PatchOperation", "PlatformSubscription"]
