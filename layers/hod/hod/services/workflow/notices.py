"""Every message the referral workflow sends, and the recipients and values it builds for them: the consumer's
receipt and agent-assigned notice, the offer, the safety net's call, the acceptance, the reminders, the missed-offer
and suspension notices. Each method sends one kind of message and returns its outcomes. The caller names the
channels in its decision's own record (`offer_channels`, `acceptance_channels`) and writes the outcomes only when a
channel did not take its message (`notifier.went_amiss`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hod.domain.agent import Agent
from hod.domain.offer import AgentContact, Offer
from hod.domain.referral import Referral
from hod.domain.sending import CALLS_PER_MESSAGE, Call, SafetyNetCalls, ledger_scope
from hod.errors import ConfigurationError
from hod.messages import Message, bulk_template, language_name, local_time
from hod.ports.common import SendQueue
from hod.ports.links import LinkShortener, LinkSigner
from hod.services.notifier import CLAIM_HOLD, Notifier, Outcome, Recipient, SendLedger, planned

# The purposes of the signed links an agent answers through.
OFFER_LINK = "offer"
SAFETY_NET_LINK = "safety-net"
# How long a link keeps showing its referral (acceptance itself is limited by the offer's deadline).
LINK_VIEWABLE = timedelta(days=1)
# The send ledger's entry (in the referral's scope) that says its safety-net calls are all on the send queue.
SAFETY_NET_QUEUED = "safety_net:queued"
_EMAIL = frozenset({"email"})
_EMAIL_AND_TEXT = frozenset({"email", "text"})


class Notices:
    def __init__(
        self,
        notifier: Notifier,
        links: LinkSigner,
        short_links: LinkShortener,
        queue: SendQueue | None = None,
        ledger: SendLedger | None = None,
    ) -> None:
        self._notifier = notifier
        self._links = links
        self._short_links = short_links
        self._queue = queue
        self._ledger = ledger

    # ----- to agents, while the referral waits -------------------------------------------------------------------
    def offer_link(self, offer: Offer) -> str:
        """The offer's signed link, viewable for a day past its deadline. Signed before the offer is recorded: the
        recording is the claim on sending, so an offer that could be recorded must also be sendable (a signing key
        that cannot be read fails the round before it writes anything, and the round is retried)."""
        return self._links.signed_link(OFFER_LINK, offer.referral_id, offer.agent_npn, offer.deadline + LINK_VIEWABLE)

    @staticmethod
    def offer_channels(contact: AgentContact) -> list[str]:
        """The channels the offer goes to its agent by (for the offer's own record)."""
        return list(planned("offer", contact_recipient(contact)))

    @staticmethod
    def acceptance_channels(referral: Referral, contact: AgentContact) -> dict[str, list[str]]:
        """The channels of the acceptance messages, to the agent and to the consumer (for the acceptance's record)."""
        return {
            "agent_channels": list(planned("accepted", _accepting(contact))),
            "consumer_channels": list(planned("consumer_agent_assigned", consumer_recipient(referral))),
        }

    def offer(self, offer: Offer, contact: AgentContact, link: str) -> dict[str, Outcome]:
        """The offer, to the agent it was made to, with its signed link (`offer_link`). The offer's recording is
        the claim: only its writer sends. Held for a throttled channel only until its deadline: an offer whose window
        closed is not sent late."""
        recipient = contact_recipient(contact)
        expires = offer.deadline + LINK_VIEWABLE
        texted = "text" in recipient.channels and recipient.phone
        values = {
            "city": offer.city,
            "county": offer.county,
            "state": offer.state,
            "deadline": local_time(offer.deadline, ZoneInfo(contact.time_zone), recipient.language),
            "link": link,
            # a text keeps to one or two SMS segments with a short link (one more write, only for texted offers)
            "text_link": self._short_links.shorten(link, expires) if texted else link,
            "language_name": language_name(offer.language, recipient.language),
        }
        rid = offer.referral_id
        return self._notifier.send(
            rid,
            f"offer:{offer.agent_npn}",
            recipient,
            "offer",
            values,
            claim=False,
            not_after=offer.deadline,
            trail=rid,
        )

    def safety_net_call(
        self, referral: Referral, recipients: Callable[[], Sequence[str]], expires: datetime, now: datetime
    ) -> int | None:
        """The safety net's call (R10), once per referral: each agent among `recipients()` with their own signed
        link, put on the send queue in messages of up to CALLS_PER_MESSAGE agents of one message group (the agent's
        ledger shard) for the send function, which e-mails them (e-mail only, whatever their preferred method) at the
        account's SES rate. How many calls were queued; None
        when they were queued before (or are being queued right now). Queuing them is claimed in the send ledger
        and recorded once all are on the queue: a call that failed part-way is made again in full by a later
        round, and the ledger keeps any agent from being e-mailed twice."""
        if self._queue is None or self._ledger is None:
            raise ConfigurationError("No send queue is configured (HOD_SEND_QUEUE_URL): the safety net cannot call.")
        rid, place = referral.referral_id, referral.place
        holder = uuid.uuid4().hex
        if not self._ledger.claim(rid, SAFETY_NET_QUEUED, holder, now, CLAIM_HOLD):
            return None
        try:
            groups: dict[str, list[Call]] = {}
            for npn in recipients():
                link = self._links.signed_link(SAFETY_NET_LINK, rid, npn, expires)
                groups.setdefault(ledger_scope(rid, npn), []).append(Call(npn=npn, link=link))
            self._queue.put(
                [
                    SafetyNetCalls(
                        referral_id=rid,
                        group=group,
                        city=place.city,
                        county=place.county,
                        state=place.state,
                        calls=tuple(calls[start : start + CALLS_PER_MESSAGE]),
                    )
                    for group, calls in sorted(groups.items())
                    for start in range(0, len(calls), CALLS_PER_MESSAGE)
                ]
            )
        except BaseException:
            self._ledger.release(rid, SAFETY_NET_QUEUED, holder)
            raise
        self._ledger.record([(rid, SAFETY_NET_QUEUED)])
        return sum(len(calls) for calls in groups.values())

    @staticmethod
    def safety_net_message(calls: SafetyNetCalls, language: str) -> Message:
        """The safety-net e-mail in `language` for SES bulk sending: each agent's link is their own (`{{link}}`)."""
        values = {"city": calls.city, "county": calls.county, "state": calls.state}
        return bulk_template("safety_net", language, values, personal=("link",))

    # ----- once an agent has the referral ------------------------------------------------------------------------
    def accepted(self, referral: Referral, contact: AgentContact) -> tuple[dict[str, Outcome], dict[str, Outcome]]:
        """The consumer's details to the accepting agent, then the agent's name and number to the consumer. The
        acceptance is the claim: only its winner sends. The outcomes of each."""
        consumer = referral.consumer
        recipient = _accepting(contact)
        agent_values = {
            "consumer_name": f"{consumer.first_name} {consumer.last_name}",
            "consumer_phone": consumer.phone,
            "consumer_email": consumer.email or "—",
            "city": referral.place.city,
            "county": referral.place.county,
            "state": referral.place.state,
            "language_name": language_name(referral.language, recipient.language),
        }
        rid = referral.referral_id
        to_agent = self._notifier.send(
            rid, f"accepted:{contact.npn}", recipient, "accepted", agent_values, claim=False, trail=rid
        )
        consumer_values = {
            "first_name": consumer.first_name,
            "agent_name": f"{contact.first_name} {contact.last_name}",
            "agent_phone": contact.phone,
        }
        to_consumer = self._notifier.send(
            rid,
            "agent_assigned",
            consumer_recipient(referral),
            "consumer_agent_assigned",
            consumer_values,
            claim=False,
            trail=rid,
        )
        return to_agent, to_consumer

    def reminder(self, referral: Referral, contact: AgentContact, after_minutes: int) -> dict[str, Outcome]:
        """R12: remind the accepting agent to contact the consumer (the reminder's claim decided that this sends)."""
        consumer = referral.consumer
        recipient = contact_recipient(contact, channels=_EMAIL_AND_TEXT & frozenset(contact.channels))
        values = {
            "consumer_name": f"{consumer.first_name} {consumer.last_name}",
            "consumer_phone": consumer.phone,
            "after_minutes": str(after_minutes),
        }
        rid = referral.referral_id
        return self._notifier.send(
            rid, f"reminder:{after_minutes}", recipient, "reminder", values, claim=False, trail=rid
        )

    # ----- missed offers (R9) ----------------------------------------------------------------------------------------
    def missed(self, offer: Offer, agent: Agent, missed: int) -> dict[str, Outcome]:
        """Tell the agent, by e-mail, that they missed this offer and how many in the last 7 days."""
        values = {"city": offer.city, "state": offer.state, "missed_count": str(missed)}
        recipient = agent_recipient(agent, channels=_EMAIL)
        rid = offer.referral_id
        return self._notifier.send(rid, f"missed:{agent.npn}", recipient, "missed", values, trail=rid)

    def suspended(self, agent: Agent, missed: int, day: date) -> dict[str, Outcome]:
        """Tell the agent, by e-mail and at most once a day, that they are suspended for missed offers."""
        recipient = agent_recipient(agent, channels=_EMAIL)
        values = {"missed_count": str(missed)}
        return self._notifier.send(f"AGENT#{agent.npn}", f"suspended:{day}", recipient, "suspended", values)


def agent_recipient(agent: Agent, channels: frozenset[str] | None = None) -> Recipient:
    """An agent as a message recipient: their preferred contact method unless `channels` narrows it."""
    return Recipient(
        label=f"agent:{agent.npn}",
        language=agent.message_language,
        channels=agent.contact_method.channels if channels is None else channels,
        email=agent.record.email,
        phone=agent.text_phone,
        devices=tuple((device.platform, device.token) for device in agent.devices),
    )


def contact_recipient(contact: AgentContact, channels: frozenset[str] | None = None) -> Recipient:
    """The agent an offer went to, from the contact details kept on the offer."""
    return Recipient(
        label=f"agent:{contact.npn}",
        language=contact.language,
        channels=frozenset(contact.channels) if channels is None else channels,
        email=contact.email,
        phone=contact.text_phone,
        devices=contact.devices,
    )


def _accepting(contact: AgentContact) -> Recipient:
    """The accepting agent, for the consumer's details: e-mail and text as their contact method has them (no push:
    the details are not for a lock screen)."""
    return contact_recipient(contact, channels=_EMAIL_AND_TEXT & frozenset(contact.channels))


def consumer_recipient(referral: Referral) -> Recipient:
    consumer = referral.consumer
    return Recipient(
        label="consumer",
        language=referral.language,
        channels=frozenset({"email", "text"}),
        email=consumer.email,
        phone=consumer.phone,
    )
