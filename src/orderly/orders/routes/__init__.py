"""HTTP endpoints of the Orders API, by concern: ``_orders`` (orders themselves) and
``_records`` (their shipments, refunds, returns and timeline notes). One router serves both."""

from fastapi import APIRouter

from orderly.orders.routes._orders import router as _orders
from orderly.orders.routes._records import records as _records

router = APIRouter()
router.include_router(_records)  # before /orders/{order_id}: its paths are longer
router.include_router(_orders)

__all__ = ["router"]
