"""GET /orders/export: every matching order, streamed in the format asked for."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from orderly.auth.deps import CurrentOrg
from orderly.auth.models import Organization
from orderly.core.db import session_factory, utc_now
from orderly.core.errors import Unauthorized, ValidationFailed, error_responses
from orderly.export import service
from orderly.export.formats import MEDIA_TYPES
from orderly.export.schemas import ExportQuery

router = APIRouter(prefix="/api/v1/orders", tags=["export"])


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The file, as an attachment.",
            "content": {
                media_type.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                for media_type in MEDIA_TYPES.values()
            },
        },
        **error_responses(Unauthorized, ValidationFailed),
    },
)
def export_orders(
    request: Request, org: CurrentOrg, query: Annotated[ExportQuery, Query()]
) -> StreamingResponse:
    """Export every order matching the list filters as CSV, JSONL, XLSX or Parquet."""
    return stream_export(request, org, query)


def stream_export(request: Request, org: Organization, query: ExportQuery) -> StreamingResponse:
    """The export as a streamed attachment (the API's endpoint and the dashboard's link)."""
    plan = service.ExportPlan(
        organization_id=org.id, filters=query, shape=query.shape, columns=query.chosen_columns
    )
    make_session = session_factory(request.app.state.database.url)

    def body() -> Iterator[bytes]:
        # The request's own session is closed once this function returns; the stream has its own.
        with make_session() as session:
            yield from service.export_bytes(session, plan, query.format, bom=query.bom)

    name = f"orders-{org.slug}-{utc_now():%Y%m%dT%H%M%SZ}.{query.format.value}"
    return StreamingResponse(
        body(),
        media_type=MEDIA_TYPES[query.format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
