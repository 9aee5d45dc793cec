"""The local stack's output holds no token: its request log leaves out query strings (a signed link carries its token
in one: `/offers/view?t=...`), and the e-mails it prints show their links with the token hidden (the outbox has them
whole)."""

from __future__ import annotations

import re
from typing import Any

_TOKEN_IN_LINK = re.compile(r"([?&#]t=)[^&#\s\"']+")


def hide_tokens(text: str) -> str:
    """`text` with the token of every signed link in it replaced by an ellipsis."""
    return _TOKEN_IN_LINK.sub(r"\1…", text)


def without_query_strings(handler_class: type[Any]) -> type[Any]:
    """`handler_class` (an http.server request handler) logging each request's path without its query string."""

    class QuietHandler(handler_class):  # type: ignore[misc]
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            method, _, rest = self.requestline.partition(" ")
            target, _, version = rest.partition(" ")
            path = target.split("?", 1)[0] + ("?…" if "?" in target else "")
            self.log_message('"%s %s %s" %s %s', method, path, version, code, size)

    QuietHandler.__name__ = QuietHandler.__qualname__ = f"Quiet{handler_class.__name__}"
    return QuietHandler
