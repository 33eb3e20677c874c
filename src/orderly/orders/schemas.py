"""Request and response shapes of the Orders API.

Schemas check shape and type; the rules that need the organization or the database (money
places per currency, phone region, duplicates, transitions) live in ``service.py``.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from orderly.core import money
from orderly.core.http import dump_json
from orderly.orders.statuses import (
    FulfillmentStatus,
    OrderStatus,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
    StatusField,
)


def _exact_number(value: Any) -> Any:
    # JSON bodies are parsed with Decimal for fractions, so a float here came from elsewhere;
    # strings and booleans are refused rather than guessed at.
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("Must be a number")
    return value


def as_utc(value: datetime) -> datetime:
    """An aware UTC time (one without an offset is read as UTC), or ``ValueError`` for a time
    beyond UTC's range: request bodies and list filters read times through this."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first instant in UTC
        raise ValueError("Out of the range of times (years 1 to 9999 in UTC)") from None


META_MAX_DEPTH = 32
META_MAX_BYTES = 16 * 1024


def _bounded_meta(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """``meta`` is free-form, but every order must stay cheap to store, read and export."""
    if meta is None:
        return None
    level: list[dict[str, Any] | list[Any]] = [meta]
    depth = 1
    while level:  # breadth first: no recursion, however deep the client nested it
        children = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if children:
            depth += 1
            if depth > META_MAX_DEPTH:
                raise ValueError(f"Nested deeper than {META_MAX_DEPTH} levels")
        level = children
    if len(dump_json(meta)) > META_MAX_BYTES:
        raise ValueError(f"Larger than {META_MAX_BYTES // 1024} KiB as JSON")
    return meta


def _currency_code(value: str) -> str:
    return money.normalize_currency(value)


# Money is a JSON number both ways, read and written exactly (never through a binary float);
# the schema says so, where pydantic would describe a Decimal as a string.
Amount = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    Field(ge=0, lt=money.MAX_AMOUNT, allow_inf_nan=False),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "exclusiveMaximum": int(money.MAX_AMOUNT),
            "description": "At most the currency's places (SAR 2, KWD 3, JPY 0).",
        }
    ),
]
MoneyOut = Annotated[
    Decimal,
    WithJsonSchema(
        {"type": "number", "description": "Exact, with the currency's places (SAR 45.65)."}
    ),
]
Timestamp = Annotated[datetime, AfterValidator(as_utc)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
CurrencyCode = Annotated[
    str, StringConstraints(min_length=3, max_length=3), AfterValidator(_currency_code)
]
SourceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]

_INPUT = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class LineItemIn(BaseModel):
    model_config = _INPUT

    product_id: Identifier | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1024)] | None = None
    quantity: Annotated[int, Field(strict=True, ge=1, le=1_000_000)]
    price: Amount
    total: Amount | None = Field(default=None, description="Defaults to quantity × price.")
    # Read-only fields of a line in an answer, accepted so a fetched order can be sent back.
    line: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    fulfilled_quantity: Any = Field(
        default=None, exclude=True, json_schema_extra={"readOnly": True}
    )
    returned_quantity: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})


class OrderContent(BaseModel):
    """Everything a client sets on an order, shared by create and full replacement."""

    model_config = _INPUT

    source: SourceName = Field(description="Where the order came from: manual, salla, api …")
    external_id: Identifier | None = Field(default=None, description="Id on the source platform.")
    external_number: Identifier | None = Field(
        default=None, description="The order number people see on the source platform."
    )
    customer_name: ShortText | None = None
    customer_email: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None
    ) = None
    customer_phone: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None
    ) = None
    products: list[LineItemIn] = Field(max_length=1000)
    subtotal: Amount | None = Field(default=None, description="Defaults to the sum of line totals.")
    discount: Amount | None = None
    tax: Amount | None = None
    delivery_fee: Amount | None = None
    total_amount: Amount
    currency: CurrencyCode
    notes: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    meta: Annotated[dict[str, Any] | None, AfterValidator(_bounded_meta)] = Field(
        default=None,
        description=f"Free-form data you attach: at most {META_MAX_DEPTH} levels deep and"
        f" {META_MAX_BYTES // 1024} KiB as JSON.",
    )
    created: Timestamp | None = Field(
        default=None, description="When the order was placed on its source; default: now."
    )
    # Read-only fields of the Order object, accepted so a fetched order can be sent back as is.
    id: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    organization_id: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    updated: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    status_history: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    refunded_amount: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    net_amount: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    shipments: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    refunds: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    returns: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})
    timeline: Any = Field(default=None, exclude=True, json_schema_extra={"readOnly": True})

    @field_validator("products")
    @classmethod
    def _at_least_one_product(cls, products: list[LineItemIn]) -> list[LineItemIn]:
        if not products:
            raise ValueError("At least one product is required")
        return products


# Shown in /docs and /openapi.json: a phone order in Riyadh.
EXAMPLE_ORDER: dict[str, Any] = {
    "source": "manual",
    "external_number": "PH-1042",
    "customer_name": "نورة العتيبي",
    "customer_email": "noura@example.com",
    "customer_phone": "+966501234567",
    "products": [
        {"product_id": "SKU-QAHWA-250", "name": "قهوة عربية ٢٥٠ جم", "quantity": 2, "price": 45.5},
        {"product_id": "SKU-TAMR-1KG", "name": "تمر سكري ١ كجم", "quantity": 1, "price": 60},
    ],
    "tax": 22.65,
    "delivery_fee": 15,
    "total_amount": 188.65,
    "currency": "SAR",
    "notes": "Call before delivery",
}


class OrderCreate(OrderContent):
    model_config = ConfigDict(**_INPUT, json_schema_extra={"examples": [EXAMPLE_ORDER]})

    status: OrderStatus = OrderStatus.PENDING
    payment_status: PaymentStatus = PaymentStatus.PENDING
    fulfillment_status: FulfillmentStatus = FulfillmentStatus.UNFULFILLED


class OrderUpdate(OrderContent):
    """``PUT``: replaces the content; statuses left out keep their values."""

    model_config = ConfigDict(
        **_INPUT, json_schema_extra={"examples": [{**EXAMPLE_ORDER, "status": "confirmed"}]}
    )

    status: OrderStatus | None = None
    payment_status: PaymentStatus | None = None
    fulfillment_status: FulfillmentStatus | None = None


class HistoryEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: StatusField
    from_: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, alias="from"
    )
    to: Annotated[str, StringConstraints(max_length=32)]
    at: Timestamp
    source: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class OrderImport(OrderCreate):
    """An order as a file or a platform holds it, taken as sent (docs/integrations.md, "Ingested
    orders"): no line items is fine, contacts that do not parse are kept as received, amounts
    with more places than the currency are rounded half-up; its times and history are kept."""

    products: list[LineItemIn] = Field(default_factory=list, max_length=1000)
    updated: Timestamp | None = None
    status_history: list[HistoryEntryIn] | None = None

    @field_validator("products")
    @classmethod
    def _at_least_one_product(cls, products: list[LineItemIn]) -> list[LineItemIn]:
        return products


class StatusUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "confirmed", "payment_status": "paid"}]},
    )

    status: OrderStatus | None = None
    payment_status: PaymentStatus | None = None
    fulfillment_status: FulfillmentStatus | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "StatusUpdate":
        if self.status is None and self.payment_status is None and self.fulfillment_status is None:
            raise ValueError("Send at least one of status, payment_status, fulfillment_status")
        return self


class BulkStatusItem(StatusUpdate):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    updated: Timestamp | None = Field(
        default=None,
        description="The order's updated time as last read: the item fails (the order changed"
        " since) unless it still is.",
    )


class BulkStatusRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "updates": [
                        {"id": "r8k2m4q7w1x9z3b5c", "status": "confirmed"},
                        {"id": "r1t6n8p2v4y7a9d3e", "payment_status": "paid"},
                    ]
                }
            ]
        },
    )

    # Items are checked one by one by the service (each succeeds or fails on its own): the
    # schema describes them, validation is skipped here.
    updates: list[SkipValidation[BulkStatusItem]] = Field(
        description="Up to 1,000 items; each succeeds or fails on its own.",
        json_schema_extra={"maxItems": 1000},
    )


class BulkDeleteRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"ids": ["r8k2m4q7w1x9z3b5c", "r1t6n8p2v4y7a9d3e"]}]},
    )

    ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        description="Up to 1,000 order ids.", json_schema_extra={"maxItems": 1000}
    )


# A bulk create body: a JSON array of create bodies, each checked on its own by the service.
BulkCreateItems = list[SkipValidation[OrderCreate]]


# ---- responses -------------------------------------------------------------------------------

_OUTPUT = ConfigDict(from_attributes=True, populate_by_name=True)


class LineItem(BaseModel):
    model_config = _OUTPUT

    line: int = Field(
        description="1-based position in products: what shipments, refunds and returns name."
    )
    product_id: str | None
    name: str | None
    quantity: int
    price: MoneyOut
    total: MoneyOut
    fulfilled_quantity: int = Field(description="In shipments that were not cancelled.")
    returned_quantity: int = Field(
        description="Come back: received returns, parcels returned to the sender."
    )


class StatusChangeOut(BaseModel):
    model_config = _OUTPUT

    field: str
    from_: str | None = Field(alias="from", validation_alias="from_value")
    to: str = Field(validation_alias="to_value")
    at: datetime
    source: str


class Order(BaseModel):
    model_config = ConfigDict(
        **_OUTPUT,
        json_schema_extra={
            "examples": [
                {
                    **EXAMPLE_ORDER,
                    "id": "r8k2m4q7w1x9z3b5c",
                    "organization_id": "org_1o9rqz4q33k7",
                    "external_id": None,
                    "products": [
                        {
                            "line": line,
                            **item,
                            "price": price,
                            "total": total,
                            "fulfilled_quantity": 0,
                            "returned_quantity": 0,
                        }
                        for line, (item, price, total) in enumerate(
                            zip(EXAMPLE_ORDER["products"], (45.5, 60), (91.0, 60), strict=True),
                            start=1,
                        )
                    ],
                    "subtotal": 151.0,
                    "discount": 0.0,
                    "refunded_amount": 0.0,
                    "net_amount": 188.65,
                    "status": "pending",
                    "payment_status": "pending",
                    "fulfillment_status": "unfulfilled",
                    "meta": {},
                    "created": "2026-11-27T09:30:00Z",
                    "updated": "2026-11-27T09:30:00Z",
                }
            ]
        },
    )

    id: str
    organization_id: str
    source: str
    external_id: str | None
    external_number: str | None
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    products: list[LineItem]
    subtotal: MoneyOut
    discount: MoneyOut
    tax: MoneyOut
    delivery_fee: MoneyOut
    total_amount: MoneyOut
    refunded_amount: MoneyOut = Field(description="The sum of the order's refunds.")
    net_amount: MoneyOut = Field(description="total_amount less refunded_amount.")
    currency: str
    status: OrderStatus
    payment_status: PaymentStatus
    fulfillment_status: FulfillmentStatus
    notes: str | None
    meta: dict[str, Any]
    created: datetime
    updated: datetime

    @model_validator(mode="after")
    def _in_currency_precision(self) -> "Order":
        # Stored with four places; shown with exactly the currency's (SAR 45.65, JPY 1500).
        def q(amount: Decimal) -> Decimal:
            return money.quantize(amount, self.currency)

        for name in MONEY_NAMES:
            setattr(self, name, q(getattr(self, name)))
        for item in self.products:
            item.price, item.total = q(item.price), q(item.total)
        return self


MONEY_NAMES = (
    "subtotal",
    "discount",
    "tax",
    "delivery_fee",
    "total_amount",
    "refunded_amount",
    "net_amount",
)


class OrderDetail(Order):
    status_history: list[StatusChangeOut] = Field(description="Oldest first.")
    shipments: list["Shipment"] = Field(description="Oldest first.")
    refunds: list["Refund"] = Field(description="Oldest first.")
    returns: list["Return"] = Field(description="Oldest first.")
    timeline: list["TimelineEntry"] = Field(
        description="Status changes, shipments, refunds, returns and notes, oldest first."
    )


class OrderList(BaseModel):
    data: list[Order]
    count: int
    total_count: int
    page: int
    limit: int
    has_next: bool
    meta: dict[str, Any] = Field(default_factory=dict)


class BulkData(BaseModel):
    succeeded: int
    failed: int
    errors: dict[str, str]
    ids: dict[str, str] | None = Field(
        default=None, description="Bulk create only: created order ids by item index."
    )


class BulkResult(BaseModel):
    success: bool
    data: BulkData
    timestamp: datetime


# ---- shipments, refunds, returns, notes ------------------------------------------------------

MAX_NOTE_LENGTH = 5000


def _web_address(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Must be an http or https address")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("Must not hold spaces or control characters")
    return value


WebAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2048), AfterValidator(_web_address)
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
NoteText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTE_LENGTH)]


class RecordLine(BaseModel):
    """Units of one line item: ``line`` is its 1-based position in the order's products."""

    model_config = ConfigDict(extra="forbid")

    line: Annotated[int, Field(strict=True, ge=1, le=1000)]
    quantity: Annotated[int, Field(strict=True, ge=1, le=1_000_000)]


RecordLines = Annotated[list[RecordLine], Field(min_length=1, max_length=1000)]


class ShipmentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lines": [{"line": 1, "quantity": 2}],
                    "carrier": "aramex",
                    "tracking_number": "35821730491",
                }
            ]
        },
    )

    lines: RecordLines
    carrier: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = Field(
        default=None,
        description="A known carrier's code (aramex, smsa, spl, dhl, fedex, ups, redbox, naqel,"
        " jahez, …) or any name.",
    )
    tracking_number: Identifier | None = None
    tracking_url: WebAddress | None = Field(
        default=None, description="Default: the known carrier's tracking page for the number."
    )
    shipped_at: Timestamp | None = Field(default=None, description="Default: now.")


class ShipmentUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "delivered"}]},
    )

    status: ShipmentStatus | None = Field(
        default=None, description="The carrier's tracking: cancel with POST …/cancel."
    )
    carrier: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None
    tracking_number: Identifier | None = None
    tracking_url: WebAddress | None = None
    shipped_at: Timestamp | None = None
    delivered_at: Timestamp | None = Field(
        default=None, description="Default when the status becomes delivered: now."
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> "ShipmentUpdate":
        if not self.model_fields_set:
            raise ValueError("Send at least one field to change")
        return self


class RefundCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"amount": 31.0, "lines": [{"line": 1, "quantity": 2}], "reason": "Damaged"}
            ]
        },
    )

    amount: Amount | None = Field(
        default=None,
        description="In the order's currency. Default: what the lines are worth (each line's"
        " total shared over its units).",
    )
    currency: CurrencyCode | None = Field(
        default=None, description="When sent, must be the order's."
    )
    lines: list[RecordLine] | None = Field(default=None, max_length=1000)
    reason: Reason | None = None
    note: NoteText | None = None
    restock: Annotated[bool, Field(strict=True)] = False


class ReturnCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"lines": [{"line": 2, "quantity": 1}], "reason": "Wrong size"}]
        },
    )

    lines: RecordLines
    reason: Reason | None = None


class ReturnReceive(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"refund": True, "restock": True}]}
    )

    refund: Annotated[bool, Field(strict=True)] = Field(
        default=False, description="Also refund the returned lines (or ``amount``)."
    )
    amount: Amount | None = Field(
        default=None, description="With refund: the amount. Default: what the lines are worth."
    )
    restock: Annotated[bool, Field(strict=True)] = False
    note: NoteText | None = None


class NoteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Customer asked to deliver after 5 pm."}]},
    )

    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE_LENGTH),
    ]


class RecordLineOut(BaseModel):
    line: int
    quantity: int


class Shipment(BaseModel):
    id: str
    order_id: str
    status: ShipmentStatus
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    lines: list[RecordLineOut]
    shipped_at: datetime
    delivered_at: datetime | None
    external_id: str | None = Field(description="The platform's id, for one it sent.")
    actor: str = Field(description="Who made it: token:…, user:…, cli, connection:….")
    created: datetime
    updated: datetime


class Refund(BaseModel):
    id: str
    order_id: str
    amount: MoneyOut
    currency: str
    lines: list[RecordLineOut]
    reason: str | None
    note: str | None
    restock: bool
    return_id: str | None = Field(description="The return it refunds, if any.")
    external_id: str | None = Field(description="The platform's id, for one it sent.")
    actor: str
    created: datetime


class Return(BaseModel):
    id: str
    order_id: str
    status: ReturnStatus
    lines: list[RecordLineOut]
    reason: str | None
    received_at: datetime | None
    refund_id: str | None = Field(description="The refund made when it was received, if any.")
    actor: str
    created: datetime


class Note(BaseModel):
    id: str
    order_id: str
    text: str
    actor: str = Field(description="Who wrote it: token:…, user:…, cli.")
    created: datetime


class TimelineEntry(BaseModel):
    at: datetime
    type: str = Field(
        description="status_changed, shipment_created, shipment_status, refund_created,"
        " return_requested, return_received, note_added."
    )
    actor: str = Field(description="Who: history's source for status changes, else the actor.")
    data: dict[str, Any] = Field(
        description="The status change as status_history shows it (field, from, to, at,"
        " source), or the record as its endpoint shows it."
    )


class ShipmentList(BaseModel):
    data: list[Shipment]
    count: int


class RefundList(BaseModel):
    data: list[Refund]
    count: int


class ReturnList(BaseModel):
    data: list[Return]
    count: int


class NoteList(BaseModel):
    data: list[Note]
    count: int


OrderDetail.model_rebuild()
