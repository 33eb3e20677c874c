"""HTTP endpoint of the audit trail."""

from typing import Annotated

from fastapi import APIRouter, Query

from orderly.audit import service
from orderly.audit.schemas import AuditEvent, AuditList, AuditQuery
from orderly.auth.deps import CurrentOrg
from orderly.core.db import SessionDep
from orderly.core.errors import Unauthorized, ValidationFailed, error_responses
from orderly.core.http import JSONResponse

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    responses=error_responses(Unauthorized, ValidationFailed),
)


@router.get("", response_model=AuditList)
def list_audit_events(
    session: SessionDep, org: CurrentOrg, query: Annotated[AuditQuery, Query()]
) -> JSONResponse:
    """Who created, changed, moved or deleted orders, newest first; filter by order_id."""
    page = service.list_events(session, org, query)
    return JSONResponse(
        {
            "data": [AuditEvent.model_validate(e).model_dump(mode="json") for e in page.events],
            "count": len(page.events),
            "total_count": page.total,
            "page": query.page,
            "limit": query.limit,
            "has_next": query.page * query.limit < page.total,
        }
    )
