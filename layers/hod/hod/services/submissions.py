"""The consumer's submission made idempotent (R1): within the idempotency window, a repeated submission returns the
first referral instead of creating another. With an Idempotency-Key header the key names the submission, and the same
key with other fields is refused (422), never a second referral; without one, the fields themselves name it. A
duplicate that arrives while the first is still being stored waits for it, briefly, rather than failing.

Only the intake imports this module: the other functions never load the idempotency machinery."""

from __future__ import annotations

import json
import time
from typing import Any, cast

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from hod.domain.referral import ConsumerRequest, Referral
from hod.errors import Conflict, DependencyFailed, Unprocessable
from hod.services.intake import IntakeService

# Seconds to wait between looks when an identical submission is still being stored.
IN_PROGRESS_WAITS = (0.1, 0.2, 0.4, 0.8, 1.5)


class Submissions:
    def __init__(self, intake: IntakeService, persistence: BasePersistenceLayer, expires_after_seconds: int) -> None:
        self._config = IdempotencyConfig(
            event_key_jmespath="id", payload_validation_jmespath="request", expires_after_seconds=expires_after_seconds
        )

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="submission",
            persistence_store=persistence,
            config=self._config,
            output_serializer=PydanticSerializer(model=Referral),
        )
        def submit_once(submission: dict[str, Any]) -> Referral:
            return intake.submit(ConsumerRequest.model_validate(submission["request"]))

        self._submit_once = submit_once

    def submit(self, request: ConsumerRequest, idempotency_key: str, lambda_context: Any = None) -> Referral:
        """Store the referral once for this submission and key; the referral stored first for it otherwise."""
        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            # An interrupted attempt then blocks retries only until its Lambda timeout, not the whole window.
            self._config.register_lambda_context(lambda_context)
        fields = request.model_dump(mode="json")
        named_by = f"key:{idempotency_key}" if idempotency_key else "fields:" + json.dumps(fields, sort_keys=True)
        submission = {"id": named_by, "request": fields}
        for delay in IN_PROGRESS_WAITS:
            try:
                return cast("Referral", self._submit_once(submission=submission))
            except IdempotencyAlreadyInProgressError:
                time.sleep(delay)
            except IdempotencyValidationError:
                raise Unprocessable(
                    "This Idempotency-Key was already used for another request; send a new key for a new request."
                ) from None
            except IdempotencyPersistenceLayerError as exc:
                # The idempotency table could not be read or written (throttled past the client's retries, say):
                # a dependency failure like any other (503: try again shortly), not an unexplained 500.
                raise DependencyFailed("dynamodb", "idempotency", str(exc)) from exc
        raise Conflict("This request is already being processed; please wait a moment and check again.")
