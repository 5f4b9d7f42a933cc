"""The InfluxDB adapter formats line protocol itself (for speed); influxdb_client's Point is the oracle."""

from __future__ import annotations

from dataclasses import replace

from influxdb_client import Point, WritePrecision

from sandbox.stores.influx.adapter import MEASUREMENT, line
from sandbox.workload.generator import Workload, WorkloadSpec
from sandbox.workload.model import Order


def reference(o: Order, version: int | None = None) -> str:
    point = (Point(MEASUREMENT).tag("status", o.status.value).tag("customer_segment", o.customer_segment.value)
             .field("order_value", float(o.total_amount)).field("item_count", len(o.items)).field("order_id", o.id))
    if version is not None:
        point = point.field("version", version)
    return point.time(int(o.created_at.timestamp() * 1000), WritePrecision.MS).to_line_protocol()


def test_line_protocol_equals_what_point_writes() -> None:
    for o in Workload(WorkloadSpec(seed=31, orders=3000)).orders():
        assert line(o) == reference(o)
        assert line(o, 7) == reference(o, 7)


def test_string_fields_are_escaped_like_point_does() -> None:
    o = replace(Workload(WorkloadSpec(seed=1, orders=1)).order(0), id='we"ird\\id')
    assert line(o) == reference(o)
