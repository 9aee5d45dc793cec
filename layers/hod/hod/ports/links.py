"""Ports linking services (each implemented by another service, or by the settings): the public site, signed links
and short links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class PublicSite(Protocol):
    @property
    def public_base_url(self) -> str:
        """Where the service is reached from outside, the base of every link it sends; "" when not configured."""
        ...


class LinkSigner(Protocol):
    def signed_link(self, purpose: str, referral_id: str, npn: str, expires: datetime) -> str:
        """The page an agent opens from a notification to see and answer one referral, valid until `expires`."""
        ...


@dataclass(frozen=True)
class ShortLink:
    """A short code standing for a long signed link until `expires_at` (epoch seconds): `/l/<code>`."""

    code: str
    target: str
    expires_at: int


class LinkShortener(Protocol):
    def shorten(self, target: str, expires: datetime) -> str:
        """A short URL for `target` until `expires` (for text messages); `target` itself if none could be made."""
        ...
