"""The process's one botocore session (hod/adapters/aws.py): every client on it, pynamodb's too, and its data loader
reading botocore's files as botocore's own loader does. Building clients makes no AWS call."""

from __future__ import annotations

from collections.abc import Iterator

import botocore.session
import pytest
from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader

from hod import wiring
from hod.adapters import aws, dynamo


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    wiring.reset()
    yield
    wiring.reset()


def test_every_client_and_the_pynamodb_connection_share_one_botocore_session() -> None:
    # Given the process's session
    shared = aws.session()

    # When clients of two services and the DynamoDB connection are made
    sqs, sesv2 = aws.client("sqs"), aws.client("sesv2")
    connection = dynamo.transactions()

    # Then they all load through that one session's loader (its models read once per process)
    assert isinstance(shared, botocore.session.Session)
    assert connection.session is shared
    loader = shared.get_component("data_loader")
    assert isinstance(loader, aws._DataLoader)
    assert connection.client.meta.service_model.service_name == "dynamodb"
    assert (sqs.meta.service_model.service_name, sesv2.meta.service_model.service_name) == ("sqs", "sesv2")
    # And a client is made once: asking again gives the same one
    assert aws.client("sqs") is sqs
    assert connection.client is connection.client


def test_the_session_s_loader_reads_a_service_model_exactly_as_botocore_s_own_loader_does() -> None:
    # Given the session's loader and botocore's default one
    ours, botocore_own = aws._DataLoader([]), Loader()

    # When each loads the same service model, endpoint rules and endpoints
    # Then the data are equal (plain dicts against botocore's OrderedDicts)
    for service, kind in (("dynamodb", "service-2"), ("sesv2", "service-2"), ("dynamodb", "endpoint-rule-set-1")):
        assert ours.load_service_model(service, kind) == botocore_own.load_service_model(service, kind)
    assert ours.load_data("endpoints") == botocore_own.load_data("endpoints")


def test_the_services_the_loader_lists_are_the_service_folders_botocore_lists() -> None:
    # Given the session's loader and botocore's default one
    ours, botocore_own = aws._DataLoader([]), Loader()

    # When each lists the services it knows
    listed, known = (
        set(ours.list_available_services("service-2")),
        set(botocore_own.list_available_services("service-2")),
    )

    # Then every service botocore knows is listed, and nothing that is not a folder (the endpoints file, say)
    assert known <= listed
    assert "endpoints.json" not in listed


def test_a_service_botocore_has_no_model_for_still_fails_to_load() -> None:
    # Given the session's loader, which does not survey every service folder first
    loader = aws._DataLoader([])

    # When a model is asked for a service that does not exist
    # Then it fails, as with botocore's own loader (DataNotFoundError rather than UnknownServiceError)
    with pytest.raises(DataNotFoundError):
        loader.load_service_model("no-such-service", "service-2")
