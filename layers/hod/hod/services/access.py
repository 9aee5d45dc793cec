"""Signing agents in without passwords: e-mailed sign-in links, and account invitations for newly eligible agents.

A link carries a signed token (purpose, agent, expiry, a one-time nonce). Opening the portal with it exchanges the
token, once, for a session token the portal keeps; a newer link replaces an older one. Asking for a link always
gets the same answer, whether or not the address belongs to an agent, and takes the same time: the request only
hands the address on (`SignIns`: the notify function, invoked asynchronously), and the link is looked up and
e-mailed off the request path (`send_sign_in`), so neither the answer nor its timing tells who is registered.

Invitations are queued by the import (one item per newly eligible agent) and sent by the one-minute sweep, a
bounded batch at a time: a 1,000-agent import never waits on 1,000 e-mails, and a failed send is retried with
backoff until it succeeds or runs out of attempts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from hod.errors import ConfigurationError, DependencyFailed, Unauthorized, ValidationFailed
from hod.logs import get_logger
from hod.ports.agents import AgentStore
from hod.ports.common import Clock
from hod.ports.links import PublicSite
from hod.services.auth import AGENT_SESSION, AuthService
from hod.services.notifier import Notifier, Recipient

logger = get_logger(__name__)

SIGN_IN = "sign-in"
ACTIVATION = "activation"
SIGN_IN_TTL = timedelta(minutes=20)
ACTIVATION_TTL = timedelta(days=7)
RESEND_INTERVAL_SECONDS = 60
INVITE_ATTEMPTS = 6
INVITE_BACKOFF_SECONDS = (60, 300, 900, 3600, 6 * 3600)
SIGN_IN_ANSWER = (
    "If that address belongs to an agent of the program, a sign-in link is on its way. It works once, for 20 minutes."
)


class AccessStore(Protocol):
    def agents_with_email(self, email: str, limit: int = 5) -> list[str]: ...

    def replace_sign_in(self, npn: str, nonce: str, expires_at: int, now: int, min_interval: int) -> bool: ...

    def use_sign_in(self, npn: str, nonce: str, now: int) -> bool: ...

    def queue_invite(self, npn: str, due_at: int) -> None: ...

    def due_invites(self, now: int, limit: int) -> list[tuple[str, int]]: ...

    def claim_invite(self, npn: str, attempts: int, retry_at: int) -> bool: ...

    def drop_invite(self, npn: str) -> None: ...


class SignIns(Protocol):
    """Where sign-in link requests go to be sent off the request path."""

    def put(self, email: str, portal_url: str | None) -> None: ...


@dataclass(frozen=True)
class Session:
    token: str
    npn: str
    first_name: str
    expires_at: datetime


@dataclass(frozen=True)
class InviteRun:
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    held: int = 0  # handed to the send queue (the channel was throttling): the send function sends it


class AccessService:
    def __init__(
        self,
        agents: AgentStore,
        store: AccessStore,
        auth: AuthService,
        notifier: Notifier,
        clock: Clock,
        session_ttl: timedelta,
        site: PublicSite,
        sign_ins: SignIns | None = None,
    ) -> None:
        self._agents = agents
        self._store = store
        self._auth = auth
        self._notifier = notifier
        self._clock = clock
        self._session_ttl = session_ttl
        self._site = site
        self._sign_ins = sign_ins

    # ----- sign-in links ---------------------------------------------------------------------------------------
    def request_sign_in(self, email: str, portal_url: str | None = None) -> str:
        """Ask for a sign-in link to be e-mailed to each agent with this address (`send_sign_in`, off the request
        path); the answer, and the work done before it, never depend on whether there is one."""
        address = (email or "").strip()
        if "@" not in address or len(address) > 254 or " " in address:
            raise ValidationFailed(
                {"email": "enter the e-mail address the program has for you"}, problems={"email": "email_format"}
            )
        if self._sign_ins is None:
            raise ConfigurationError("Sign-in links are not configured: no way to send them off the request path.")
        self._sign_ins.put(address, portal_url)
        return SIGN_IN_ANSWER

    def send_sign_in(self, email: str, portal_url: str | None = None) -> int:
        """E-mail a sign-in link to each agent with this address (the notify function, for `request_sign_in`);
        how many agents have it."""
        agents = self._store.agents_with_email(email.strip())
        for npn in agents:
            self._send_link(npn, SIGN_IN, SIGN_IN_TTL, "sign_in", portal_url, RESEND_INTERVAL_SECONDS)
        return len(agents)

    def _send_link(
        self, npn: str, purpose: str, ttl: timedelta, kind: str, portal_url: str | None, min_interval: int
    ) -> str:
        """'sent', 'failed', 'suppressed', 'throttled' or 'gone' (no such agent)."""
        stored = self._agents.get(npn)
        if stored is None:
            return "gone"
        agent = stored.agent
        now = self._clock.now()
        nonce = secrets.token_urlsafe(12)
        expires = now + ttl
        if not self._store.replace_sign_in(npn, nonce, int(expires.timestamp()), int(now.timestamp()), min_interval):
            logger.info("sign-in link throttled", extra={"agent_npn": npn})
            return "throttled"
        token = self._auth.issue(purpose, npn, ttl, resource=nonce)
        base = portal_url or self._site.public_base_url
        recipient = Recipient(
            label=f"agent:{npn}",
            language=agent.message_language,
            channels=frozenset({"email"}),
            email=agent.record.email,
        )
        values = {
            "first_name": agent.record.first_name,
            "link": f"{base}/portal#t={token}",
            "expires_minutes": str(int(ttl.total_seconds() // 60)),
            "expires_days": str(max(1, ttl.days)),
        }
        # (one send per nonce: the conditional write of the link item above is the claim)
        outcomes = self._notifier.send(f"agent#{npn}", f"{kind}#{nonce}", recipient, kind, values, claim=False)
        return outcomes.get("email", "suppressed")

    def start_session(self, token: str | None) -> Session:
        """Exchange a sign-in or activation link's token, once, for a portal session."""
        claims = self._auth.link(token, (SIGN_IN, ACTIVATION))
        now = self._clock.now()
        if not self._store.use_sign_in(claims.subject, claims.resource, int(now.timestamp())):
            raise Unauthorized(
                "This sign-in link was already used or a newer one was sent. Ask for a new link.", "link_used"
            )
        stored = self._agents.get(claims.subject)
        if stored is None:
            raise Unauthorized("This account no longer exists.", "account_gone")
        session = self._auth.issue(AGENT_SESSION, claims.subject, self._session_ttl)
        return Session(session, claims.subject, stored.agent.record.first_name, now + self._session_ttl)

    # ----- invitations -----------------------------------------------------------------------------------------
    def queue_invite(self, npn: str) -> None:
        self._store.queue_invite(npn, int(self._clock.now().timestamp()))

    def send_due_invites(self, limit: int = 100) -> InviteRun:
        """Send up to ``limit`` due invitations (called by the one-minute sweep)."""
        now = int(self._clock.now().timestamp())
        sent = failed = dropped = held = 0
        for npn, attempts in self._store.due_invites(now, limit):
            if attempts >= INVITE_ATTEMPTS:
                logger.error("invitation given up", extra={"agent_npn": npn, "attempts": attempts})
                self._store.drop_invite(npn)
                dropped += 1
                continue
            backoff = INVITE_BACKOFF_SECONDS[min(attempts, len(INVITE_BACKOFF_SECONDS) - 1)]
            if not self._store.claim_invite(npn, attempts, now + backoff):
                continue  # another sweep took it
            try:
                outcome = self._send_link(npn, ACTIVATION, ACTIVATION_TTL, "activation", None, 0)
            except DependencyFailed:
                outcome = "failed"
            if outcome == "failed":
                failed += 1  # stays queued: retried after the backoff
                continue
            self._store.drop_invite(npn)
            if outcome == "sent":
                sent += 1
            elif outcome == "held":
                held += 1
            else:
                dropped += 1
        if sent or failed or dropped or held:
            logger.info("invitations", extra={"sent": sent, "failed": failed, "dropped": dropped, "held": held})
        return InviteRun(sent, failed, dropped, held)
