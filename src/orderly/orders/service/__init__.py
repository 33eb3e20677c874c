"""The rules of orders: money, contacts, duplicates and status transitions.

One module per concern, re-exported here (``from orderly.orders import service``):
``_content`` (amounts and contacts, no database), ``_orders`` (the API's create, read, replace,
status changes and delete), ``_import`` (export files read back) and ``_ingest`` (platforms'
orders from webhooks), with ``_common`` holding their errors and limits. An order's records:
``_shipments``, ``_refunds`` (refunds and returns) and ``_notes``, sharing ``_records``; the
rules of what is left to ship, return and refund are ``orders/progress.py``.

Services flush, never commit (the request's transaction does), and raise ``OrderlyError``s.
"""

from orderly.orders.service._common import (
    MAX_BULK_ITEMS,
    SOURCE_API,
    SOURCE_BULK,
    SOURCE_IMPORT,
    BulkOutcome,
    DerivedStatus,
    DuplicateOrder,
    InvalidTransition,
    OrderChanged,
    OrderNotFound,
    describe_error,
    etag,
)
from orderly.orders.service._content import search_text
from orderly.orders.service._import import check_import, import_batch
from orderly.orders.service._ingest import (
    Ingested,
    IngestOutcome,
    IngestRequest,
    ingest_order,
    ingest_orders,
)
from orderly.orders.service._notes import add_note
from orderly.orders.service._orders import (
    OrderPage,
    bulk_change_status,
    bulk_create,
    bulk_delete,
    change_status,
    channels,
    counts_by_status,
    create_order,
    delete_order,
    get_document,
    list_orders,
    replace_order,
)
from orderly.orders.service._platform_records import PlatformRefund, PlatformShipment
from orderly.orders.service._records import (
    ReturnNotFound,
    ShipmentNotFound,
    record_document,
    record_documents,
)
from orderly.orders.service._refunds import create_refund, receive_return, request_return
from orderly.orders.service._shipments import cancel_shipment, create_shipment, update_shipment

__all__ = [
    "MAX_BULK_ITEMS",
    "SOURCE_API",
    "SOURCE_BULK",
    "SOURCE_IMPORT",
    "BulkOutcome",
    "DerivedStatus",
    "DuplicateOrder",
    "IngestOutcome",
    "IngestRequest",
    "Ingested",
    "InvalidTransition",
    "OrderChanged",
    "OrderNotFound",
    "OrderPage",
    "PlatformRefund",
    "PlatformShipment",
    "ReturnNotFound",
    "ShipmentNotFound",
    "add_note",
    "bulk_change_status",
    "bulk_create",
    "bulk_delete",
    "cancel_shipment",
    "change_status",
    "channels",
    "check_import",
    "counts_by_status",
    "create_order",
    "create_refund",
    "create_shipment",
    "delete_order",
    "describe_error",
    "etag",
    "get_document",
    "import_batch",
    "ingest_order",
    "ingest_orders",
    "list_orders",
    "receive_return",
    "record_document",
    "record_documents",
    "replace_order",
    "request_return",
    "search_text",
    "update_shipment",
]
