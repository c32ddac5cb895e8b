"""A response the backend client returns: read in full, with checked JSON reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from reseller_plans.domain.errors import OutcomeUnknown
from reseller_plans.http.errors import MalformedResponse, request_id_of
from reseller_plans.http.payload import Payload

__all__ = ["Reply"]


@attrs.frozen
class Reply:
    """A successful (or explicitly accepted) response, read in full.

    Attributes:
        status: the HTTP status.
        headers: the response headers (case-insensitive).
        content: the body.
        context: ``"<service> <METHOD> <path>"``, for messages.
        write: the reply answers a write: a body we cannot read is ``OutcomeUnknown`` (the
            write may have acted), not ``MalformedResponse``.
    """

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    content: bytes = attrs.field(repr=False)
    context: str
    write: bool = False

    @property
    def request_id(self) -> str | None:
        """The backend's request id, if it sent one."""
        return request_id_of(self.headers)

    def json(self) -> Any:
        """The body as JSON, checked to be JSON.

        Returns:
            The parsed value.

        Raises:
            MalformedResponse: the content type is not JSON, the body is empty or not valid JSON.
            OutcomeUnknown: the same, in the reply to a write.
        """
        content_type = self.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise self._malformed(f"expected JSON, got content type {media or 'none'!r}")
        if not self.content.strip():
            raise self._malformed("expected JSON, got an empty body")
        try:
            return json.loads(self.content)
        except (ValueError, RecursionError):
            raise self._malformed("the body is not valid JSON") from None

    def payload(self) -> Payload:
        """The body as a JSON object with typed reads.

        Returns:
            The :class:`Payload`.

        Raises:
            MalformedResponse: not JSON, or not a JSON object (``OutcomeUnknown`` for a write).
        """
        return Payload(self.json(), self.context, headers=self.headers, status=self.status,
                       write=self.write)  # fmt: skip

    def _malformed(self, what: str) -> MalformedResponse | OutcomeUnknown:
        cls = OutcomeUnknown if self.write else MalformedResponse
        return cls(
            f"{self.context}: malformed response: {what}",
            status=self.status,
            request_id=self.request_id,
        )
