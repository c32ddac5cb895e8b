"""The words of every email: one template per ``MessageKind``, a plain-text part and an HTML one.

Templates are ``string.Template`` strings (``$reseller_name`` or ``${reseller_name}``; ``$$`` for a
literal dollar sign). Rendering is strict: a placeholder whose context key is missing raises
``InvalidInput`` naming the key and the kind, never a bare ``KeyError`` and never a half-filled
email.

A template may depend on the plan: the context key ``plan`` selects a plan-specific template
(``WELCOME`` and ``CANCELLED`` exist only per plan: Free and Standard say different things).
Each of the three parts falls back on its own, first match wins::

    override for (kind, plan) → override for kind → default for (kind, plan) → default for kind

Values are made safe per part: in the HTML part every value is escaped (``html.escape`` with
``quote=True``), in the subject line control characters (CR, LF, …) become spaces so a value
cannot add a header, and the text part takes values as they are.
"""

from __future__ import annotations

import html
import os
import re
import string
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeAlias

import attrs

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.plans import Plan
from reseller_plans.ports import EmailMessage

__all__ = [
    "CONTEXT_KEYS",
    "DERIVED_KEYS",
    "RenderedMessage",
    "TemplateKey",
    "TemplateSet",
    "Templates",
]

CONTEXT_KEYS: Final[frozenset[str]] = frozenset(
    {
        "reseller_name",
        "distributor_name",
        "account_id",
        "subscription_id",
        "plan",
        "old_plan",
        "new_plan",
        "alias",
        "storefront_url",
        "distributor_storefront_url",
        "effective_at",
        "alias_held_until",
        "reason",
    }
)
"""Every context key a template may use (the keys the domain provides, ``domain.messages``)."""

DERIVED_KEYS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "plan_title": "plan",
        "old_plan_title": "old_plan",
        "new_plan_title": "new_plan",
    }
)
"""Placeholders computed from a context key: the plan as a person reads it (``Standard``)."""

_URL_KEYS: Final = frozenset({"storefront_url", "distributor_storefront_url"})
# A value becomes a link target in the HTML part; only web URLs may (no ``javascript:``).
_WEB_URL = re.compile(r"https?://[^\s]+\Z", re.IGNORECASE)
# Anything that could end a header line or confuse a mail client's subject display.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")

TemplateKey: TypeAlias = MessageKind | tuple[MessageKind, Plan]
"""What an override applies to: a kind (every plan), or a kind for one plan."""


def _check_part(_instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    """Validate one part of a ``TemplateSet``: a string, and for the subject a single line."""
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidInput(
            f"the {attribute.name} template must be a string, not {type(value).__name__}"
        )
    if attribute.name == "subject" and _LINE_BREAKING.search(value):
        raise InvalidInput("a subject template must be one line without control characters")


@attrs.frozen
class TemplateSet:
    """The templates of one message; a part left ``None`` falls back to the default.

    Attributes:
        subject: the subject line (one line).
        text: the plain-text part.
        html: the HTML alternative: a document whose placeholders receive escaped values.
    """

    subject: str | None = attrs.field(default=None, validator=_check_part)
    text: str | None = attrs.field(default=None, validator=_check_part)
    html: str | None = attrs.field(default=None, validator=_check_part)


@attrs.frozen
class RenderedMessage:
    """One message rendered for one context.

    Attributes:
        subject: the subject line, one line.
        text: the plain-text part.
        html: the HTML alternative.
    """

    subject: str
    text: str
    html: str


# --- the default templates ------------------------------------------------------------------
#
# Written once as paragraphs and turned into both parts, so the text and the HTML say the same.
# A paragraph is prose (wrapped in the text part) or a tuple of lines kept as they are.
# Markup: ``[$key]`` is a link to the URL in ``key``, ```code``` is code.

_Paragraph: TypeAlias = str | tuple[str, ...]

_LINK = re.compile(r"\[\$(\w+)\]")
_CODE = re.compile(r"`([^`]+)`")
_WIDTH = 72


def _text_markup(source: str) -> str:
    return _CODE.sub(r"\1", _LINK.sub(r"$\1", source))


def _text_part(paragraphs: Iterable[_Paragraph]) -> str:
    blocks = []
    for paragraph in paragraphs:
        if isinstance(paragraph, str):
            prose = _text_markup(paragraph)
            # Placeholders are single words, so wrapping the template keeps them whole.
            blocks.append(
                textwrap.fill(prose, _WIDTH, break_long_words=False, break_on_hyphens=False)
            )
        else:
            blocks.append("\n".join(_text_markup(line) for line in paragraph))
    return "\n\n".join(blocks) + "\n"


def _html_markup(source: str) -> str:
    escaped = html.escape(source, quote=False)
    linked = _LINK.sub(r'<a href="${\1}">${\1}</a>', escaped)
    return _CODE.sub(r"<code>\1</code>", linked)


def _html_part(paragraphs: Iterable[_Paragraph]) -> str:
    body = []
    for paragraph in paragraphs:
        if isinstance(paragraph, str):
            body.append(f"<p>{_html_markup(paragraph)}</p>")
        else:
            body.append("<p>" + "<br>\n".join(_html_markup(line) for line in paragraph) + "</p>")
    return (
        "<!DOCTYPE html>\n"
        '<html>\n<head><meta charset="utf-8"></head>\n'
        '<body style="font-family: sans-serif; line-height: 1.5;">\n'
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _default(subject: str, *paragraphs: _Paragraph) -> TemplateSet:
    return TemplateSet(subject=subject, text=_text_part(paragraphs), html=_html_part(paragraphs))


_HELLO = "Hello $reseller_name,"
_REGARDS = ("Kind regards,", "$distributor_name")
_SAME_LOGIN = (
    "You log in with the credentials you already use on $distributor_name's Storefront "
    "([$distributor_storefront_url])."
)
_BACK_TO_BASIC = (
    "You keep ordering for your customers and for yourself on $distributor_name's Storefront "
    "at [$distributor_storefront_url], with the same login."
)

_DEFAULTS: Final[Mapping[TemplateKey, TemplateSet]] = {
    (MessageKind.WELCOME, Plan.FREE): _default(
        "Your Free reseller plan with $distributor_name is active",
        _HELLO,
        "Your Free reseller plan with $distributor_name is now active: it gives you your own "
        "Customer Portal, at no cost.",
        "Log in to $distributor_name's Storefront at [$distributor_storefront_url] and start "
        "customizing your Customer Portal.",
        _REGARDS,
    ),
    (MessageKind.WELCOME, Plan.STANDARD): _default(
        "Your Standard reseller plan with $distributor_name is active: your Storefront is live",
        _HELLO,
        "Your Standard reseller plan with $distributor_name is now active, and your own "
        "Storefront is live at [$storefront_url].",
        _SAME_LOGIN,
        "Log in and start customizing your Customer Portal and your Storefront: your branding, "
        "your catalog listing and what your customers see.",
        _REGARDS,
    ),
    MessageKind.PLAN_UPGRADED: _default(
        "You are on the Standard plan: your Storefront is live",
        _HELLO,
        "Your reseller plan with $distributor_name has been upgraded from Free to Standard, "
        "effective immediately.",
        "Your own Storefront is live at [$storefront_url].",
        _SAME_LOGIN,
        "Your Customer Portal stays as you set it up; log in to customize your Storefront as "
        "well: your branding, your catalog listing and what your customers see.",
        _REGARDS,
    ),
    MessageKind.PLAN_CHANGE_SCHEDULED: _default(
        "Your reseller plan changes to $new_plan_title on $effective_at",
        _HELLO,
        "Your reseller plan with $distributor_name will change from $old_plan_title to "
        "$new_plan_title on $effective_at, at the end of your current term. Until then "
        "everything stays as it is on your $old_plan_title plan.",
        "Changed your mind? Ask $distributor_name to withdraw the change before that date.",
        _REGARDS,
    ),
    MessageKind.PLAN_CHANGED: _default(
        "Your reseller plan is now $new_plan_title",
        _HELLO,
        "Your reseller plan with $distributor_name changed from $old_plan_title to "
        "$new_plan_title on $effective_at.",
        "For questions about what the $new_plan_title plan includes, contact $distributor_name.",
        _REGARDS,
    ),
    MessageKind.CANCELLATION_SCHEDULED: _default(
        "Your $plan_title reseller plan ends on $effective_at",
        _HELLO,
        "The cancellation of your $plan_title reseller plan with $distributor_name is "
        "scheduled for $effective_at, the end of your billing period. Until then everything "
        "stays as it is.",
        "After that date your account is back on the Basic plan: you keep ordering for your "
        "customers and for yourself on $distributor_name's Storefront.",
        "Changed your mind? The cancellation can be withdrawn until $effective_at.",
        _REGARDS,
    ),
    MessageKind.CANCELLATION_WITHDRAWN: _default(
        "Your $plan_title reseller plan continues",
        _HELLO,
        "The scheduled cancellation of your $plan_title reseller plan with $distributor_name "
        "has been withdrawn. Your plan continues as before.",
        _REGARDS,
    ),
    (MessageKind.CANCELLED, Plan.FREE): _default(
        "Your Free reseller plan has ended",
        _HELLO,
        "Your Free reseller plan with $distributor_name has been cancelled, and your account "
        "is back on the Basic plan.",
        _BACK_TO_BASIC,
        _REGARDS,
    ),
    (MessageKind.CANCELLED, Plan.STANDARD): _default(
        "Your Standard reseller plan has ended",
        _HELLO,
        "Your Standard reseller plan with $distributor_name has been cancelled, and your "
        "account is back on the Basic plan. Your own Storefront under the alias $alias is "
        "now offline.",
        _BACK_TO_BASIC,
        "We hold the alias $alias for you until $alias_held_until: upgrade to Standard again "
        "before then and your Storefront comes back under the same address.",
        _REGARDS,
    ),
    MessageKind.SUSPENDED: _default(
        "Your $plan_title reseller plan is suspended",
        _HELLO,
        "$distributor_name has suspended your $plan_title reseller plan (reason: $reason).",
        "While it is suspended, the services of the plan are unavailable; on the Standard "
        "plan your own Storefront is offline.",
        "Contact $distributor_name to resolve it. You will receive an email as soon as your "
        "plan is active again.",
        _REGARDS,
    ),
    MessageKind.RESUMED: _default(
        "Your $plan_title reseller plan is active again",
        _HELLO,
        "$distributor_name has resumed your $plan_title reseller plan: everything is available "
        "again as before the suspension.",
        _REGARDS,
    ),
    MessageKind.PROVISIONING_FAILED: _default(
        "Provisioning failed: $plan_title plan for $reseller_name (subscription $subscription_id)",
        "Hello $distributor_name team,",
        "The automatic provisioning of a reseller plan failed. The activation was rolled back "
        "and the reseller stays on its previous plan.",
        (
            "Reseller: $reseller_name (account $account_id)",
            "Plan: $plan_title",
            "Subscription: $subscription_id",
            "Reason: $reason",
        ),
        "While provisioning has failed, other actions on this subscription are blocked. Once "
        "the cause is fixed, retry the provisioning: in the BSS, with the retry action on the "
        "failed subscription, or from code with "
        '`plans.retry("$subscription_id", actor=Actor.distributor(...))`.',
        "You receive this automatic message as a member of $distributor_name's staff.",
    ),
}


# --- compiled templates ---------------------------------------------------------------------


@attrs.frozen
class _Part:
    """One compiled template part and the context keys it needs."""

    template: string.Template
    placeholders: frozenset[str]

    @classmethod
    def compile(cls, source: str, *, where: str) -> _Part:
        template = string.Template(source)
        if not template.is_valid():
            raise InvalidInput(
                f"{where} has an invalid placeholder: write $name or ${{name}}, and $$ for a "
                "literal dollar sign"
            )
        placeholders = frozenset(template.get_identifiers())
        unknown = sorted(placeholders - CONTEXT_KEYS - DERIVED_KEYS.keys())
        if unknown:
            names = ", ".join(f"${name}" for name in unknown)
            known = ", ".join(sorted(CONTEXT_KEYS | DERIVED_KEYS.keys()))
            raise InvalidInput(f"{where} uses unknown placeholders {names}; known: {known}")
        return cls(template, placeholders)

    @property
    def keys(self) -> frozenset[str]:
        """The context keys this part reads (a derived placeholder reads its source key)."""
        return frozenset(DERIVED_KEYS.get(name, name) for name in self.placeholders)


@attrs.frozen
class _CompiledSet:
    subject: _Part | None
    text: _Part | None
    html: _Part | None

    @classmethod
    def compile(cls, templates: TemplateSet, *, where: str) -> _CompiledSet:
        def part(source: str | None, name: str) -> _Part | None:
            return None if source is None else _Part.compile(source, where=f"the {name} of {where}")

        return cls(
            part(templates.subject, "subject"),
            part(templates.text, "text"),
            part(templates.html, "html"),
        )


def _describe(key: TemplateKey) -> str:
    if isinstance(key, tuple):
        return f"the {key[0].value} template for the {key[1].value} plan"
    return f"the {key.value} template"


def _check_key(key: object) -> TemplateKey:
    if isinstance(key, MessageKind):
        return key
    if (
        isinstance(key, tuple)
        and len(key) == 2
        and isinstance(key[0], MessageKind)
        and isinstance(key[1], Plan)
    ):
        return (key[0], key[1])
    raise InvalidInput(
        f"a template override is keyed by a MessageKind or a (MessageKind, Plan) pair, not {key!r}"
    )


def _compile_all(templates: Mapping[TemplateKey, TemplateSet]) -> dict[TemplateKey, _CompiledSet]:
    compiled = {}
    for key, template_set in templates.items():
        checked = _check_key(key)
        if not isinstance(template_set, TemplateSet):
            raise InvalidInput(f"{_describe(checked)} must be a TemplateSet")
        compiled[checked] = _CompiledSet.compile(template_set, where=_describe(checked))
    return compiled


_COMPILED_DEFAULTS: Final = _compile_all(_DEFAULTS)

_PARTS: Final = {".subject.txt": "subject", ".txt": "text", ".html": "html"}


class Templates:
    """Renders every ``MessageKind`` for a context; the host application may override any part.

    >>> from reseller_plans.domain.messages import MessageKind
    >>> Templates().render(
    ...     MessageKind.RESUMED,
    ...     {"reseller_name": "TechSolutions", "distributor_name": "Disti", "plan": "standard"},
    ... ).subject
    'Your Standard reseller plan is active again'

    Args:
        overrides: templates that replace the defaults, keyed by ``MessageKind`` (every plan) or
            by ``(MessageKind, Plan)`` (one plan). Parts left ``None`` keep the default.

    Raises:
        InvalidInput: an override with a malformed key, an invalid placeholder, or a placeholder
            that names no context key (a typo is caught here, not when a message is due).
    """

    __slots__ = ("_defaults", "_overrides")

    def __init__(self, overrides: Mapping[TemplateKey, TemplateSet] | None = None) -> None:
        self._overrides = _compile_all(overrides or {})
        self._defaults = _COMPILED_DEFAULTS

    def __repr__(self) -> str:
        keys = ", ".join(sorted(_describe(key).removeprefix("the ") for key in self._overrides))
        return f"Templates(overrides=[{keys}])"

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> Templates:
        """Read overrides from a folder of template files (UTF-8).

        File names are ``<kind>.subject.txt``, ``<kind>.txt`` and ``<kind>.html``, with ``<kind>``
        a ``MessageKind`` value (``welcome``), optionally followed by a plan for a plan-specific
        template (``welcome.standard.txt``). Any subset may be present; what is missing falls
        back to the defaults. Hidden files (``.gitkeep``) are ignored. Surrounding whitespace is
        stripped from subject files.

        Args:
            path: the folder.

        Returns:
            ``Templates`` with the files as overrides.

        Raises:
            InvalidInput: the folder does not exist, or holds a file or folder whose name is not
                one of the above, or a file that cannot be read as UTF-8, or a template is invalid
                (see ``Templates``).
        """
        folder = Path(path)
        if not folder.is_dir():
            raise InvalidInput(f"template folder {str(folder)!r} does not exist")
        parts: dict[TemplateKey, dict[str, str]] = {}
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            key, part = _parse_file_name(entry.name)
            if not entry.is_file():
                raise InvalidInput(f"{str(entry)!r} is not a file")
            try:
                source = entry.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise InvalidInput(f"cannot read template file {str(entry)!r}: {error}") from error
            parts.setdefault(key, {})[part] = source.strip() if part == "subject" else source
        overrides = {}
        for key, found in parts.items():
            try:
                overrides[key] = TemplateSet(**found)
            except InvalidInput as error:
                raise InvalidInput(f"{_describe(key)} in {str(folder)!r}: {error}") from None
        return cls(overrides)

    def required_keys(self, kind: MessageKind, plan: Plan | None = None) -> frozenset[str]:
        """The context keys rendering ``kind`` needs (with ``plan`` when the template is per plan).

        Args:
            kind: the message.
            plan: the plan, for the templates that depend on it.

        Returns:
            the keys, including ``plan`` when it selected the template.

        Raises:
            InvalidInput: no template exists for that kind and plan.
        """
        parts, plan_specific = self._resolve(kind, plan)
        keys = frozenset[str]().union(*(part.keys for part in parts))
        return keys | {"plan"} if plan_specific else keys

    def plan_variants(self, kind: MessageKind) -> tuple[Plan, ...]:
        """The plans that have a template of their own for ``kind`` (defaults or overrides).

        Args:
            kind: the message.

        Returns:
            those plans in plan order; empty when one template serves every plan.
        """
        return tuple(
            plan
            for plan in Plan
            if (kind, plan) in self._overrides or (kind, plan) in self._defaults
        )

    def render(self, kind: MessageKind, context: Mapping[str, str]) -> RenderedMessage:
        """Render the message ``kind`` for ``context``.

        Args:
            kind: the message.
            context: the facts, as strings (keys: ``CONTEXT_KEYS``). Keys the templates do not
                use are ignored.

        Returns:
            the subject (one line), the text part and the HTML part with escaped values.

        Raises:
            InvalidInput: a key the template needs is missing (the error names the key and the
                kind), a value is not a string, ``plan`` names no plan, a URL is not a web URL,
                or there is no template for the kind and plan.
        """
        plan = self._plan_of(kind, context)
        (subject, text, html_part), plan_specific = self._resolve(kind, plan)
        needed = subject.keys | text.keys | html_part.keys
        missing = sorted(needed - context.keys())
        if missing:
            names = ", ".join(repr(name) for name in missing)
            noun = "key" if len(missing) == 1 else "keys"
            where = f"{kind.name} ({plan.value} plan)" if plan_specific and plan else kind.name
            raise InvalidInput(f"cannot render the {where} message: context {noun} {names} missing")
        placeholders = subject.placeholders | text.placeholders | html_part.placeholders
        values = self._values(kind, context, placeholders)
        return RenderedMessage(
            subject=_one_line(
                subject.template.substitute({k: _one_line(v) for k, v in values.items()})
            ),
            text=text.template.substitute(values),
            html=html_part.template.substitute(
                {k: html.escape(v, quote=True) for k, v in values.items()}
            ),
        )

    def email(
        self,
        kind: MessageKind,
        context: Mapping[str, str],
        *,
        message_id: str,
        to: Iterable[str],
    ) -> EmailMessage:
        """Render ``kind`` into an ``EmailMessage`` ready for a ``Mailer``.

        Args:
            kind: the message.
            context: the facts, as for :meth:`render`.
            message_id: the stable id of the outbox entry.
            to: the recipients.

        Returns:
            the message.

        Raises:
            InvalidInput: as :meth:`render`, or when there is no recipient.
        """
        recipients = tuple(to)
        if not recipients:
            raise InvalidInput(f"a {kind.name} message needs at least one recipient")
        rendered = self.render(kind, context)
        return EmailMessage(
            message_id=message_id,
            kind=kind,
            to=recipients,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
        )

    @staticmethod
    def _plan_of(kind: MessageKind, context: Mapping[str, str]) -> Plan | None:
        value = context.get("plan")
        if value is None:
            return None
        try:
            return Plan.parse(value)
        except (ValueError, TypeError):
            raise InvalidInput(
                f"cannot render the {kind.name} message: context key 'plan' is {value!r}, "
                f"expected one of {', '.join(p.value for p in Plan)}"
            ) from None

    def _resolve(
        self, kind: MessageKind, plan: Plan | None
    ) -> tuple[tuple[_Part, _Part, _Part], bool]:
        """The subject, text and HTML templates for ``kind`` and ``plan``, and whether the choice
        depended on the plan."""
        chain: list[tuple[_CompiledSet, bool]] = []
        for source in (self._overrides, self._defaults):
            if plan is not None and (kind, plan) in source:
                chain.append((source[(kind, plan)], True))
            if kind in source:
                chain.append((source[kind], False))
        found: list[_Part] = []
        plan_specific = False
        for name in ("subject", "text", "html"):
            for compiled, specific in chain:
                part: _Part | None = getattr(compiled, name)
                if part is not None:
                    found.append(part)
                    plan_specific |= specific
                    break
            else:
                if plan is None:
                    raise InvalidInput(
                        f"cannot render the {kind.name} message: context key 'plan' missing "
                        "(the template depends on the plan)"
                    )
                raise InvalidInput(f"there is no {kind.name} template for the {plan.value} plan")
        return (found[0], found[1], found[2]), plan_specific

    @staticmethod
    def _values(
        kind: MessageKind, context: Mapping[str, str], names: Iterable[str]
    ) -> dict[str, str]:
        values: dict[str, str] = {}
        for name in names:
            source = DERIVED_KEYS.get(name, name)
            value = context[source]
            if not isinstance(value, str):
                raise InvalidInput(
                    f"cannot render the {kind.name} message: context key {source!r} must be a "
                    f"string, not {type(value).__name__}"
                )
            if source in _URL_KEYS and not _WEB_URL.match(value):
                raise InvalidInput(
                    f"cannot render the {kind.name} message: context key {source!r} must be an "
                    f"http(s) URL, not {value!r}"
                )
            if name != source:
                try:
                    value = Plan.parse(value).title
                except ValueError:
                    raise InvalidInput(
                        f"cannot render the {kind.name} message: context key {source!r} is "
                        f"{value!r}, expected one of {', '.join(p.value for p in Plan)}"
                    ) from None
            values[name] = value
        return values


def _one_line(value: str) -> str:
    """``value`` on one line: control characters (CR, LF, …) become one space each run."""
    return _LINE_BREAKING.sub(" ", value).strip()


def _parse_file_name(name: str) -> tuple[TemplateKey, str]:
    """``welcome.standard.html`` → ``((WELCOME, STANDARD), "html")``."""
    suffix = next((suffix for suffix in _PARTS if name.endswith(suffix)), None)
    if suffix is None:
        raise InvalidInput(_unknown_file(name))
    stem = name.removesuffix(suffix)
    kind_name, _, plan_name = stem.partition(".")
    try:
        kind = MessageKind(kind_name)
        plan = Plan(plan_name) if plan_name else None
    except ValueError:
        raise InvalidInput(_unknown_file(name)) from None
    return ((kind, plan) if plan else kind), _PARTS[suffix]


def _unknown_file(name: str) -> str:
    kinds = ", ".join(kind.value for kind in MessageKind)
    plans = ", ".join(plan.value for plan in Plan)
    return (
        f"unknown template file {name!r}: expected <kind>.subject.txt, <kind>.txt or "
        f"<kind>.html, optionally <kind>.<plan>.…, with kind one of {kinds} and plan one of "
        f"{plans}"
    )
