"""Per-clinic routing, seen on the real broker: no worker consumes while these run."""

import json
import uuid

import pytest

from queueing.services.checkins import checkin_publish
from tenants.models import Chain
from tenants.routing import clinic_queue_name
from tenants.services import clinic_provision, clinic_update_settings
from tests.integration.conftest import all_queue_names

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def queues(broker):
    names = all_queue_names()
    broker.purge(names + ["clinic.dedicated.vip"])
    yield names
    broker.purge(names + ["clinic.dedicated.vip"])


def _counts(broker, names):
    return {name: broker.message_count(name) for name in names}


def _one_message(broker, queue):
    with broker.connection() as conn:
        message = conn.default_channel.basic_get(queue, no_ack=True)
    return message


def test_each_clinics_task_lands_in_its_own_shard_queue_with_its_schema(broker, queues, clinic_a):
    # clinic_a hashes to clinic.shard.1 and clinic_d to clinic.shard.0 (crc32 mod 2).
    clinic_d = clinic_provision(
        chain=Chain.objects.get(slug="rede_sol"), name="D", slug="clinic_d", timezone="UTC"
    )
    for clinic in (clinic_a, clinic_d):
        with clinic:
            assert checkin_publish(checkin_id=uuid.uuid4())
    expected_a = clinic_queue_name(schema_name="clinic_a")
    expected_d = clinic_queue_name(schema_name="clinic_d")
    assert (expected_a, expected_d) == ("clinic.shard.1", "clinic.shard.0")
    # Never the platform queue, nor the webhook deliveries' queue.
    assert _counts(broker, queues) == {
        "platform": 0,
        "webhooks": 0,
        "clinic.shard.0": 1,
        "clinic.shard.1": 1,
    }
    headers = {
        queue: _one_message(broker, queue).headers for queue in ("clinic.shard.0", "clinic.shard.1")
    }
    assert headers["clinic.shard.1"]["_schema_name"] == "clinic_a"
    assert headers["clinic.shard.0"]["_schema_name"] == "clinic_d"
    assert headers["clinic.shard.1"]["task"] == "queueing.checkin_process_task"


def test_a_clinic_with_a_dedicated_queue_gets_its_tasks_there_only(broker, queues, clinic_a):
    clinic = clinic_update_settings(clinic=clinic_a, dedicated_queue="vip")
    with clinic:
        assert checkin_publish(checkin_id=uuid.uuid4())
    assert broker.message_count("clinic.dedicated.vip") == 1
    assert sum(_counts(broker, queues).values()) == 0


def test_the_task_carries_the_check_in_id_and_never_the_cpf(broker, queues, clinic_a):
    checkin_id = uuid.uuid4()
    with clinic_a:
        checkin_publish(checkin_id=checkin_id)
    message = _one_message(broker, clinic_queue_name(schema_name="clinic_a"))
    args = json.loads(message.body)[0]
    assert args == [str(checkin_id)]
