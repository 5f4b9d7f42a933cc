"""The e-commerce domain from the playbook as plain data classes. Money is Decimal with 2 places."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

CENT = Decimal("0.01")


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Segment(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    VIP = "vip"


@dataclass(frozen=True, slots=True)
class Address:
    id: str
    customer_id: str
    address_type: str  # billing | shipping
    street_line1: str
    city: str
    postal_code: str
    country_code: str


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    email: str
    first_name: str
    last_name: str
    segment: Segment
    billing_address: Address
    shipping_address: Address


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    parent_id: str | None
    name: str
    slug: str


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    sku: str
    name: str
    category_id: str
    base_price: Decimal
    inventory_count: int


@dataclass(frozen=True, slots=True)
class Catalog:
    """Reference data every order points at; small, so it is held in memory."""

    categories: tuple[Category, ...]
    products: tuple[Product, ...]
    customers: tuple[Customer, ...]


@dataclass(frozen=True, slots=True)
class OrderItem:
    product_id: str
    product_sku: str
    product_name: str
    quantity: int
    unit_price: Decimal

    @property
    def total_price(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    order_number: str
    customer_id: str
    customer_segment: Segment
    billing_address_id: str
    shipping_address_id: str
    status: OrderStatus
    items: tuple[OrderItem, ...]
    subtotal: Decimal
    tax_amount: Decimal
    shipping_amount: Decimal
    created_at: datetime  # UTC, millisecond precision, unique per order within a workload

    @property
    def total_amount(self) -> Decimal:
        return self.subtotal + self.tax_amount + self.shipping_amount

    def record(self) -> OrderRecord:
        """The fields every store is compared on."""
        return OrderRecord(self.id, self.status.value, self.total_amount, len(self.items), self.customer_id,
                           self.customer_segment.value, self.order_number)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order as a store hands it back, normalised. None means the store does not keep that field."""

    order_id: str
    status: str | None = None
    total: Decimal | None = None
    item_count: int | None = None
    customer_id: str | None = None
    segment: str | None = None
    order_number: str | None = None


COMPARED_FIELDS = ("status", "total", "item_count", "customer_id", "segment", "order_number")
