"""'Nobody has called me' (R12 from the consumer's side): after the contact-by time, with no progress recorded, the
consumer says so from their status page. One conditional write records it (`consumer.not_called`, at most once per
acceptance) and, under the `remind` policy, the agent is reminded at once; under `reassign` the same write also sends
the referral back to searching and flags it for the one-minute sweep, which starts its next round the way it restarts
a referral whose round failed (`IntakeService.start_unstarted`): the nearest agent not offered it before gets it."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from hod.domain.offer import AgentContact
from hod.domain.referral import AuditEvent, Referral, ReferralStatus
from hod.errors import Conflict, NotFound
from hod.ports.workflow import NotCalledReport, ReferralState
from hod.services.notifier import Notifier, Outcome
from hod.services.status import ALREADY, NOT_CALLED_KEY, NOT_YET, contact_by
from hod.services.workflow.common import WorkflowPorts
from hod.services.workflow.notices import contact_recipient


class NotCalledPolicy(StrEnum):
    """What a consumer's "nobody has called me" does besides reminding the agent (Settings.not_called_policy)."""

    REMIND = "remind"  # remind the agent; the referral stays theirs
    REASSIGN = "reassign"  # remind the agent, and send the referral on to the next agent


class NotCalledStore(Protocol):
    def consumer_state(self, referral_id: str) -> tuple[ReferralState, frozenset[str]] | None: ...

    def report_not_called(self, report: NotCalledReport) -> None: ...

    def append_events(self, referral_id: str, events: list[AuditEvent]) -> None: ...


class NotCalled:
    def __init__(
        self, ports: WorkflowPorts, store: NotCalledStore, notifier: Notifier, policy: NotCalledPolicy
    ) -> None:
        self._ports = ports
        self._store = store
        self._notifier = notifier
        self._policy = policy

    def report(self, referral_id: str) -> bool:
        """Record the consumer's report, remind the agent; True when the referral went on to the next agent.
        Conflict before the contact-by time, when already reported, or when the referral has moved on."""
        found = self._store.consumer_state(referral_id)
        if found is None:
            raise NotFound("This request")
        state, follow_ups = found
        referral, contact = state.referral, state.contact
        due = contact_by(referral, self._ports.policy.follow_up_seconds)
        if referral.status is not ReferralStatus.ACCEPTED or contact is None or due is None:
            raise Conflict("The agent has already recorded their call, or the request has moved on.")
        key = NOT_CALLED_KEY.format(npn=contact.npn)
        if key in follow_ups:
            raise Conflict(ALREADY)
        now = self._ports.clock.now()
        if now < due:
            raise Conflict(NOT_YET)
        reassign = self._policy is NotCalledPolicy.REASSIGN
        events = [
            self._ports.event(
                "consumer",
                "consumer.not_called",
                agent_npn=contact.npn,
                contact_by=due.isoformat(),
                policy=self._policy.value,
            )
        ]
        if reassign:
            events.append(self._ports.event("system", "referral.reassigned", from_agent_npn=contact.npn))
        accepted_by_then = now - timedelta(seconds=self._ports.policy.follow_up_seconds)
        self._store.report_not_called(
            NotCalledReport(referral_id, contact.npn, key, now, accepted_by_then, events, reassign)
        )
        outcomes = self._remind(state.referral, contact, reassign)
        reminded = self._ports.event("system", "agent.reminded", agent_npn=contact.npn, reason="not_called", **outcomes)
        self._store.append_events(referral_id, [reminded])
        return reassign

    def _remind(self, referral: Referral, contact: AgentContact, reassigned: bool) -> dict[str, Outcome]:
        """The agent, by e-mail and text as they prefer: the consumer says nobody called (and, when it went on,
        that the referral is no longer theirs). The report's write is the claim: only its winner sends."""
        consumer, referral_id = referral.consumer, referral.referral_id
        recipient = contact_recipient(contact, channels=frozenset({"email", "text"}) & frozenset(contact.channels))
        values = {"consumer_name": f"{consumer.first_name} {consumer.last_name}", "consumer_phone": consumer.phone}
        kind = "not_called_reassigned" if reassigned else "not_called"
        return self._notifier.send(
            referral_id, f"not_called:{contact.npn}", recipient, kind, values, claim=False, trail=referral_id
        )
