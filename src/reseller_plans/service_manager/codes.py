"""The ``Code`` values the service manager answers, and which error each one stands for.

The platform reads ``Code`` 0 as success and shows the ``Message`` of any other code to the
distributor's staff (on a pre-check it stops the purchase; on a provisioning call it marks the
subscription's sync status Failed and offers Retry). Only 0, 1 and -1 are the platform's own
(``docs/service-manager.md``, "Codes"); the 1000s are ours and stable: a host may match on
them.

=====  ==========================  ===========================================================
code   name                        when
=====  ==========================  ===========================================================
0      ``OK``                      done (or, with ``CheckOnly``, it would be allowed)
-1     ``NOT_SUPPORTED``           an endpoint reseller plans do not use (add-ons, trials, …)
1      ``EXISTS``                  ``Accounts/Exists``: the account is known (``Result``: its id)
1000   ``REFUSED``                 any other refusal of the library
1001   ``NOT_ELIGIBLE``            the reseller may not have the plan (every reason listed)
1002   ``ALIAS_TAKEN``             the Storefront Alias belongs to another reseller
1003   ``INVALID_ALIAS``           the Storefront Alias is missing or breaks a rule
1004   ``ILLEGAL_STATE``           the subscription's state does not allow the action now
1005   ``NOT_FOUND``               no such subscription or account
1006   ``UNKNOWN_PRODUCT``         the request names no reseller plan we know
1007   ``BAD_REQUEST``             the body is malformed: wrong type, missing field, too large
1008   ``BACKEND_UNAVAILABLE``     the BSS, Storefront or store failed for now: retry later
1009   ``FORBIDDEN``               the account or subscription is not this distributor's
1010   ``CONFLICT``                the same platform subscription was created with other values
1011   ``BACKEND_REFUSED``         the BSS or Storefront refused a step for good
1012   ``PROVISIONING_FAILED``     the activation failed and was rolled back (back to Basic)
1013   ``INVALID_TEXT``            a text holds a NUL character or a lone surrogate (no store
                                   can hold either)
1014   ``DUPLICATE_PROPERTY``      an object names a property twice, also when the two names
                                   differ only by case (``CheckOnly`` and ``checkonly``)
1015   ``SUBSCRIPTION_BUSY``       another process is running the subscription's saga now:
                                   nothing was changed, retry shortly
=====  ==========================  ===========================================================
"""

from __future__ import annotations

import enum

__all__ = ["ResultCode"]


class ResultCode(enum.IntEnum):
    """The ``Code`` of a service manager answer (see the module docstring for the table)."""

    OK = 0
    NOT_SUPPORTED = -1
    EXISTS = 1
    REFUSED = 1000
    NOT_ELIGIBLE = 1001
    ALIAS_TAKEN = 1002
    INVALID_ALIAS = 1003
    ILLEGAL_STATE = 1004
    NOT_FOUND = 1005
    UNKNOWN_PRODUCT = 1006
    BAD_REQUEST = 1007
    BACKEND_UNAVAILABLE = 1008
    FORBIDDEN = 1009
    CONFLICT = 1010
    BACKEND_REFUSED = 1011
    PROVISIONING_FAILED = 1012
    INVALID_TEXT = 1013
    DUPLICATE_PROPERTY = 1014
    SUBSCRIPTION_BUSY = 1015
