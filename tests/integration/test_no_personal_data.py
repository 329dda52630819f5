"""No CPF or name of a check-in burst reaches a log line, a RabbitMQ message or a status page."""

import json
import logging
import re

import pytest
from amqp.exceptions import NotFound

from tests.checkin_factories import cpf_from_number, staff_client, staff_user
from tests.integration.conftest import all_queue_names, wait_until_processed

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BURST = 20


def _people() -> list[tuple[str, str]]:
    return [
        (cpf_from_number(734_000_000 + n * 7919), f"Zuleica Quintanilha {n:02d}")
        for n in range(BURST)
    ]


def _formatted(cpf: str) -> str:
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"


def _leaks(text: str, people: list[tuple[str, str]]) -> list[str]:
    digits_only = re.sub(r"[.\-\s]", "", text)
    found = []
    for cpf, name in people:
        if cpf in text or _formatted(cpf) in text or cpf in digits_only:
            found.append(cpf)
        if name in text or name.split()[1] in text:
            found.append(name)
    return found


def _peek_messages(broker, queues: list[str]) -> list[str]:
    """Every waiting message (headers and body) as text; left in the queues for the worker."""
    texts = []
    with broker.connection() as conn:
        for queue in queues:
            channel = conn.channel()
            try:
                while (message := channel.basic_get(queue, no_ack=False)) is not None:
                    body = message.body
                    texts.append(json.dumps(message.headers, default=str))
                    texts.append(body.decode() if isinstance(body, bytes) else str(body))
            except NotFound:  # never declared: nothing was published there
                continue
            finally:
                channel.close()  # unacknowledged: every message goes back to its queue
    return texts


def test_a_check_in_burst_leaves_no_cpf_or_name_in_logs_messages_or_status(
    broker, start_worker, clinic_a, caplog
):
    caplog.set_level(logging.DEBUG)
    queues = all_queue_names()
    broker.purge(queues)
    people = _people()
    client = staff_client(clinic_a, user=staff_user(clinic_a, "receptionist"))

    answers = [
        client.post(
            "/api/v1/check-ins/",
            {"cpf": _formatted(cpf), "patient": {"full_name": name, "birth_date": "1980-01-02"}},
            format="json",
        )
        for cpf, name in people
    ]
    messages = _peek_messages(broker, queues)
    worker = start_worker("privacy")
    wait_until_processed(clinic_a, expected=BURST, timeout=90)
    statuses = [client.get(answer.json()["status_url"]) for answer in answers]

    assert [answer.status_code for answer in answers] == [202] * BURST
    assert len(messages) == 2 * BURST
    assert {status.json()["status"] for status in statuses} == {"queued"}
    assert _leaks("\n".join(messages), people) == []
    assert _leaks(caplog.text, people) == []
    assert _leaks(worker.log_path.read_text(), people) == []
    status_text = "\n".join(
        answer["Location"] if answer.has_header("Location") else "" for answer in answers
    ) + "\n".join(answer.json()["status_url"] for answer in answers)
    assert _leaks(status_text, people) == []
    # The status page may greet by name only where the principal already sees names; it never
    # shows a CPF.
    assert [cpf for cpf, _ in people if cpf in "".join(s.content.decode() for s in statuses)] == []
