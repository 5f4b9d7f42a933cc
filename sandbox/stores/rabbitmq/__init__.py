"""RabbitMQ: a broker for the event-driven services (the `broker` role; stores/events.py), not a store of orders
(so outside the default set: `sandbox up --stores rabbitmq`)."""

from __future__ import annotations

from sandbox.stores.kind import ON_OFF, DurabilityKnobs, Knob, StoreKind
from sandbox.stores.rabbitmq.broker import RabbitProbe, make_broker
from sandbox.stores.rabbitmq.native import LAUNCHER

KIND = StoreKind(
    name="rabbitmq", port=15673, schemes=("amqp", "amqps"),
    default_url=lambda backend, env, port: f"amqp://sandbox:{env.get('RABBITMQ_PASSWORD', '')}@127.0.0.1:{port}/",
    secrets=("RABBITMQ_PASSWORD",), compose_service="rabbitmq", native=LAUNCHER,
    in_default_set=False, started_by_default=True,
    durability=DurabilityKnobs(
        # Client settings: how the run's queues are declared and its messages sent.
        (Knob("queue_type", "quorum", {"quorum": "quorum", "classic": "classic"}, client=True),
         Knob("persistent", True, ON_OFF, client=True)),
        lambda v: f"queue_type={v['queue_type']}, persistent={'on' if v['persistent'] else 'off'}"),
    client_libraries=("aio-pika",),
    roles={"broker": make_broker},
    probe=RabbitProbe,  # `sandbox status`: who the server is (a broker holds no model)
)
