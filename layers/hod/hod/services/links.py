"""The links notifications carry: signed links to one referral's page, and short links standing for them.

Short links are for text messages: a signed link is about 260 characters, which makes an offer text several SMS
segments (each billed). A short link is the public base URL, ``/l/`` and an 11-character random code (64 bits),
stored until the long link expires; opening it redirects to the long link. Whoever holds either can do the same
(view the offer; answering still needs the page's POST), so the code is as secret as the link it stands for."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Protocol

from hod.errors import DependencyFailed
from hod.ports.common import Clock
from hod.ports.links import PublicSite, ShortLink
from hod.services.auth import AuthService

CODE_BYTES = 8
_ATTEMPTS = 3


class ShortLinkStore(Protocol):
    def put(self, code: str, target: str, expires_at: int) -> bool: ...

    def get(self, code: str, now: int) -> str | None: ...


class ShortLinks:
    def __init__(self, store: ShortLinkStore, clock: Clock, site: PublicSite) -> None:
        self._store = store
        self._clock = clock
        self._site = site

    def shorten(self, target: str, expires: datetime) -> str:
        """A short URL for ``target`` until ``expires``; the long link itself if none could be stored (a text
        with a long link still works, so a failure here must not cost the message)."""
        for _ in range(_ATTEMPTS):
            link = self.draw(target, expires)
            try:
                if self._store.put(link.code, link.target, link.expires_at):
                    return self.url(link)
            except DependencyFailed:
                return target
        return target

    @staticmethod
    def draw(target: str, expires: datetime) -> ShortLink:
        """A new short link for ``target`` until ``expires``, not stored: for a caller that stores it in a write of
        its own (the intake, with the referral)."""
        return ShortLink(secrets.token_urlsafe(CODE_BYTES), target, int(expires.timestamp()))

    def url(self, link: ShortLink) -> str:
        return f"{self._site.public_base_url}/l/{link.code}"

    def resolve(self, code: str) -> str | None:
        if not code or len(code) > 32 or not all(c.isalnum() or c in "-_" for c in code):
            return None
        return self._store.get(code, int(self._clock.now().timestamp()))


class SignedLinks:
    """The page an agent opens from a notification to see and answer one referral: `/offers/view?t=<token>`, the
    token signed for the link's purpose, the agent and the referral, until the link expires."""

    def __init__(self, auth: AuthService, clock: Clock, site: PublicSite) -> None:
        self._auth = auth
        self._clock = clock
        self._site = site

    def signed_link(self, purpose: str, referral_id: str, npn: str, expires: datetime) -> str:
        token = self._auth.issue(purpose, npn, expires - self._clock.now(), resource=referral_id)
        return f"{self._site.public_base_url}/offers/view?t={token}"
