"""reseller_plans.mail: the emails resellers and distributors' staff receive.

``Templates`` renders a ``MessageKind`` with its context into a subject, a plain-text part and an
HTML alternative (host applications may override any part, in code or from a folder of files);
``SMTPMailer`` and ``ConsoleMailer`` implement the ``Mailer`` port, and ``ThreadedMailer`` makes
any of them an ``AsyncMailer`` for an async host. Only the standard library is used. The
message kinds, their context keys and how to override them: ``docs/emails/README.md``.

    >>> from reseller_plans.mail import ConsoleMailer, SMTPMailer, Templates
"""

from reseller_plans.mail.console import ConsoleMailer
from reseller_plans.mail.smtp import SMTPMailer, SMTPSecurity, message_id_header
from reseller_plans.mail.templates import (
    CONTEXT_KEYS,
    DERIVED_KEYS,
    RenderedMessage,
    TemplateKey,
    Templates,
    TemplateSet,
)
from reseller_plans.mail.threaded import AsyncMailer, ThreadedMailer

__all__ = [
    # rendering
    "Templates",
    "TemplateSet",
    "TemplateKey",
    "RenderedMessage",
    "CONTEXT_KEYS",
    "DERIVED_KEYS",
    # sending
    "SMTPMailer",
    "SMTPSecurity",
    "message_id_header",
    "ConsoleMailer",
    # for async hosts
    "AsyncMailer",
    "ThreadedMailer",
]
