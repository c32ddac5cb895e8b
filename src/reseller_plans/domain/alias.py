"""The Storefront Alias: the URL path segment under which a reseller's own Storefront lives.

The platform does not publish the alias syntax; ours (``docs/concepts.md``): 3 to 63 characters of
lowercase ``a-z``, digits and ``-``, starting with a letter, not ending with ``-``, no ``--``, and
not a reserved word. Input is trimmed and lowercased first; anything else is refused with the rule
it broke.
"""

from __future__ import annotations

import attrs

from reseller_plans.domain.errors import InvalidAlias, InvalidInput

__all__ = ["ALIAS_MAX_LENGTH", "ALIAS_MIN_LENGTH", "RESERVED_ALIASES", "StorefrontAlias"]

ALIAS_MIN_LENGTH = 3
ALIAS_MAX_LENGTH = 63

RESERVED_ALIASES: frozenset[str] = frozenset(
    {
        "about", "account", "accounts", "admin", "administrator", "api", "app", "apps", "assets",
        "auth", "basket", "billing", "blog", "cart", "catalog", "checkout", "cdn", "config",
        "contact", "css", "dashboard", "default", "distributor", "docs", "download", "error",
        "favicon", "files", "help", "home", "img", "images", "index", "legal", "login",
        "logout", "mail", "marketplace", "media", "null", "oauth", "order", "orders", "portal",
        "privacy", "profile", "register", "reseller", "resellers", "root", "search", "security",
        "settings", "shop", "signin", "signout", "signup", "static", "status", "store",
        "storefront", "support", "system", "terms", "test", "undefined", "user", "users", "www",
    }
)  # fmt: skip
"""Words that name the Storefront's own pages or are easily confused with them."""

_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _refusal(text: str) -> tuple[str, str] | None:
    """The first rule ``text`` (already normalized) breaks, as (rule, reason), or None."""
    if not text:
        return "required", "a Storefront Alias is required"
    if len(text) < ALIAS_MIN_LENGTH:
        return "too_short", f"must be at least {ALIAS_MIN_LENGTH} characters long"
    if len(text) > ALIAS_MAX_LENGTH:
        return "too_long", f"must be at most {ALIAS_MAX_LENGTH} characters long"
    bad = sorted({c for c in text if c not in _ALLOWED})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return "bad_character", f"may contain only a-z, 0-9 and '-' (found {shown})"
    if not text[0].isalpha():
        return "must_start_with_letter", "must start with a letter"
    if text.endswith("-"):
        return "trailing_hyphen", "must not end with '-'"
    if "--" in text:
        return "double_hyphen", "must not contain '--'"
    if text in RESERVED_ALIASES:
        return "reserved", f"{text!r} is reserved by the Storefront"
    return None


@attrs.frozen(order=True)
class StorefrontAlias:
    """A valid, normalized Storefront Alias. Build one with :meth:`parse`.

    >>> StorefrontAlias.parse("  TechSolutions ").value
    'techsolutions'
    """

    value: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise InvalidAlias(repr(self.value), rule="not_text", reason="must be text")
        refusal = _refusal(self.value)
        if refusal is not None:
            raise InvalidAlias(self.value, rule=refusal[0], reason=refusal[1])

    @classmethod
    def parse(cls, text: str | StorefrontAlias) -> StorefrontAlias:
        """Normalize (trim, lowercase) and validate an alias.

        Raises:
            InvalidAlias: with ``rule`` naming the broken rule and a readable reason.
        """
        if isinstance(text, StorefrontAlias):
            return text
        if not isinstance(text, str):
            raise InvalidAlias(repr(text), rule="not_text", reason="must be text")
        return cls(text.strip().lower())

    @staticmethod
    def missing() -> InvalidAlias:
        """The error for an alias that was required and not given."""
        return InvalidAlias("", rule="required", reason="a Storefront Alias is required")

    def url(self, storefront_host: str) -> str:
        """The reseller's Storefront URL under the distributor's host.

        >>> StorefrontAlias.parse("techsolutions").url("cloud.disti.com")
        'https://cloud.disti.com/techsolutions'
        """
        host = storefront_host.strip().rstrip("/")
        if not host or host.endswith("://"):
            raise InvalidInput("a Storefront host is required to build a Storefront URL")
        if "://" not in host:
            host = "https://" + host
        return f"{host}/{self.value}"

    def __str__(self) -> str:
        return self.value
