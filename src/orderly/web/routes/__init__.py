"""Dashboard pages, served by ``orderly serve`` at ``/``, one module per group of pages:
``_account`` (sign-in, sign-out, language, the person's settings), ``_orders`` (list, bulk
changes, one order, entry and editing, export), ``_order_records`` (an order's shipments,
refunds, returns and notes), ``_integrations`` (connections, their inbox,
replay), ``_webhooks`` (outbound endpoints, their health and delivery log) and ``_admin``
(people and API tokens, owners only).

Pages are thin like the API's endpoints: they parse, call the same services, and render a
template (``web/templates``). Every form carries a CSRF token: the session's own once signed
in, and before sign-in a random one in a cookie the form must match (``web/deps``).
"""

from fastapi import APIRouter

from orderly.web.routes import (
    _account,
    _admin,
    _integrations,
    _order_records,
    _orders,
    _webhooks,
)

router = APIRouter(include_in_schema=False)
for module in (_account, _orders, _order_records, _integrations, _webhooks, _admin):
    router.include_router(module.router)

__all__ = ["router"]
