"""Golden orders: exact bytes captured from the generator before it was optimised (issue 16).

The generator may get faster, never different: these strings and digests were printed by the
straightforward implementation (commit 59dc1a5), so a faster one must reproduce them exactly.
"""

from __future__ import annotations

import hashlib

import pytest

from sandbox.workload.generator import Workload, WorkloadSpec, order_to_json

GOLDEN_ORDERS = {
    (1, 0): '{"billing_address_id":"72fc208c-b257-4eed-a81b-7e6339f97aa6","created_at":"2026-01-01T00:00:00.002+00:00","customer_id":"796bf75a-3cc0-461f-ae7d-96d63536a9a3","customer_segment":"standard","id":"7541ca6b-304e-469e-95af-b829d8d9b80a","items":[{"product_id":"c603c197-4f42-41c8-a3c3-28b31ff7b16d","product_name":"Maple kettle","product_sku":"SKU-00053","quantity":4,"unit_price":"112.66"},{"product_id":"51ec109b-f700-4766-b7c2-b4a88367a412","product_name":"Onyx chair","product_sku":"SKU-00102","quantity":3,"unit_price":"60.94"},{"product_id":"2ea9bb23-9de7-481d-b380-3a8bf29e583a","product_name":"Cedar mug","product_sku":"SKU-00168","quantity":1,"unit_price":"56.9"},{"product_id":"75b1596c-8e80-4bfd-af0c-521809503091","product_name":"Maple rug","product_sku":"SKU-00108","quantity":2,"unit_price":"197.18"}],"order_number":"ORD-1-000000000","shipping_address_id":"4c4491c9-43b9-401d-8a67-96401e607e0e","shipping_amount":"0.00","status":"pending","subtotal":"1084.72","tax_amount":"89.49"}',  # noqa: E501
    (7, 12345): '{"billing_address_id":"b0176512-354d-4ae3-bb48-92ab8e3892df","created_at":"2026-01-01T00:02:03.457+00:00","customer_id":"af64b94a-9b41-49f7-a8c8-be89d9b9dc81","customer_segment":"premium","id":"b9cdbdb0-ddd5-4a68-a697-dffd359756ac","items":[{"product_id":"9ab6ca9a-c660-4612-bb82-939de5e065c1","product_name":"Maple lamp","product_sku":"SKU-00161","quantity":2,"unit_price":"97.95"},{"product_id":"77a8982f-080b-48d0-89da-64f650d063b1","product_name":"Cedar chair","product_sku":"SKU-00148","quantity":3,"unit_price":"161.41"},{"product_id":"edc18dbb-f57a-4837-8eb6-cc8d7829fb24","product_name":"Ivory bench","product_sku":"SKU-00097","quantity":3,"unit_price":"172.46"}],"order_number":"ORD-7-000012345","shipping_address_id":"876c449a-8060-4143-85ff-c30cfd6464d8","shipping_amount":"0.00","status":"shipped","subtotal":"1197.51","tax_amount":"98.79"}',  # noqa: E501
    (42, 999999): '{"billing_address_id":"ac1a254e-39d0-4e70-82d4-a50ca7563149","created_at":"2026-01-01T02:46:39.995+00:00","customer_id":"080a83a8-9848-4ad1-a020-7d818d1a25c0","customer_segment":"standard","id":"3d114701-20b0-4267-b415-d91b4bca5fde","items":[{"product_id":"507b7319-5fe1-415c-ad69-aea680010c2f","product_name":"Ivory clock","product_sku":"SKU-00062","quantity":1,"unit_price":"104.99"}],"order_number":"ORD-42-000999999","shipping_address_id":"2f3e86a4-d0ce-4c94-8586-4c3742b02f23","shipping_amount":"0.00","status":"processing","subtotal":"104.99","tax_amount":"8.66"}',  # noqa: E501
}
# sha256 of the newline-joined canonical JSON of orders 0..n-1.
GOLDEN_STREAMS = {
    (11, 2000): "fee35dc32e42f98853ec243501d2014957c934c5996a670783f74a8c12e359af",
    (3, 1000): "eb0dcad380b213e38cbd1ce5183c12ad95a6a1d107903ff2534438c5fcdc788c",
}


@pytest.mark.parametrize(("seed", "index"), list(GOLDEN_ORDERS))
def test_single_orders_keep_their_exact_bytes(seed: int, index: int) -> None:
    assert order_to_json(Workload(WorkloadSpec(seed, index + 1)).order(index)) == GOLDEN_ORDERS[seed, index]


@pytest.mark.parametrize(("seed", "n"), list(GOLDEN_STREAMS))
def test_streams_keep_their_exact_bytes(seed: int, n: int) -> None:
    stream = "\n".join(order_to_json(o) for o in Workload(WorkloadSpec(seed, n)).orders())
    assert hashlib.sha256(stream.encode()).hexdigest() == GOLDEN_STREAMS[seed, n]


def test_catalogs_keep_their_exact_values() -> None:
    default = Workload(WorkloadSpec(seed=1, orders=1)).catalog
    assert hashlib.sha256(repr(default).encode()).hexdigest() == (
        "5dd7e6c71a44d0eeaf14e4b0964140ebe86bbfcb4726944147e1163e4c218030")
    small = Workload(WorkloadSpec(seed=5, orders=4, customers=37, products=11, categories=5))
    assert hashlib.sha256(repr(small.catalog).encode()).hexdigest() == (
        "61437a733bda38ac8eff7b557616d7aacc24ff2160ca7828cee43532c38163a6")
    assert order_to_json(small.order(3)) == '{"billing_address_id":"41171294-a04e-4208-9c56-5084f99f4c3b","created_at":"2026-01-01T00:00:00.038+00:00","customer_id":"df868366-f9e3-4bcb-bfd6-3a4fb06d77d8","customer_segment":"standard","id":"ae1727d7-cc0d-491d-a203-d157994c5c48","items":[{"product_id":"7a92958b-52a6-47a6-98f5-09b4b71532f8","product_name":"Oak rug","product_sku":"SKU-00010","quantity":4,"unit_price":"197.61"}],"order_number":"ORD-5-000000003","shipping_address_id":"4c33df23-b75d-40fa-a1df-024cda722e00","shipping_amount":"0.00","status":"confirmed","subtotal":"790.44","tax_amount":"65.21"}'  # noqa: E501
