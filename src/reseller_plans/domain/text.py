"""Text a store can hold: no NUL character and no lone surrogate.

The stores keep text as UTF-8. A lone surrogate (``"\\ud800"``: JSON can spell one and a Python
string can hold it) has no UTF-8 form, and PostgreSQL refuses the NUL character in text. Ids and
texts from outside are checked at the boundary, so such a value is refused as bad input before
it reaches a store instead of failing there with a driver's error. Every other character (emoji,
right-to-left text, combining marks) is kept exactly as given.

>>> unstorable("TechSolutions \\u05d0\\u05d1 \\U0001F600") is None
True
>>> unstorable("a\\x00b")
'a NUL character'
>>> storable_text("\\udc80", "Account.ID")
Traceback (most recent call last):
...
reseller_plans.domain.errors.InvalidInput: Account.ID holds a lone surrogate, which cannot be stored
"""

from __future__ import annotations

from reseller_plans.domain.errors import InvalidInput

__all__ = ["storable_text", "unstorable"]


def unstorable(text: str) -> str | None:
    """What in ``text`` no store can hold, in words, or None when it can be stored.

    Args:
        text: any text.

    Returns:
        ``"a NUL character"``, ``"a lone surrogate"``, or None.
    """
    if "\x00" in text:
        return "a NUL character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "a lone surrogate"
    return None


def storable_text(text: str, what: str) -> str:
    """``text`` itself, checked to be storable.

    Args:
        text: the value.
        what: its name, for the message (``"Account.ID"``).

    Returns:
        ``text``, unchanged.

    Raises:
        InvalidInput: it holds a NUL character or a lone surrogate.
    """
    reason = unstorable(text)
    if reason is not None:
        raise InvalidInput(f"{what} holds {reason}, which cannot be stored")
    return text
