"""NATS with JetStream: a broker for the event-driven services (the `broker` role; stores/events.py), not a
store of orders (so outside the default set: `sandbox up --stores nats`)."""

from __future__ import annotations

from sandbox.stores.kind import DurabilityKnobs, Knob, StoreKind
from sandbox.stores.nats.broker import NatsProbe, make_broker
from sandbox.stores.nats.native import LAUNCHER

KIND = StoreKind(
    name="nats", port=14222, schemes=("nats", "tls"),
    default_url=lambda backend, env, port: f"nats://sandbox:{env.get('NATS_PASSWORD', '')}@127.0.0.1:{port}",
    secrets=("NATS_PASSWORD",), compose_service="nats", native=LAUNCHER, in_default_set=False, started_by_default=True,
    durability=DurabilityKnobs(
        # Where a stream keeps its messages (a client setting: the stream is created so); file survives a restart.
        (Knob("storage", "file", {"file": "file", "memory": "memory"}, client=True),),
        lambda v: f"JetStream storage={v['storage']}"),
    client_libraries=("nats-py",),
    roles={"broker": make_broker},
    probe=NatsProbe,  # `sandbox status`: who the server is (a broker holds no model)
)
