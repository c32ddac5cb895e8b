"""The emulator's error answer."""

from __future__ import annotations

from typing import Any

__all__ = ["EmulatorError"]


class EmulatorError(Exception):
    """An error answer: ``status`` and a body ``{"message": ...}`` (or ``body`` as given)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else {"message": message}
