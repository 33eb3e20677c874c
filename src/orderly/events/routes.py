"""HTTP endpoint of the events feed."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Response

from orderly.auth.deps import CurrentOrg
from orderly.core.db import DatabaseDep
from orderly.core.errors import Unauthorized, ValidationFailed, error_responses
from orderly.core.http import dump_json
from orderly.events import service
from orderly.events.schemas import EventList, EventQuery

router = APIRouter(
    prefix="/api/v1/events",
    tags=["events"],
    responses=error_responses(Unauthorized, ValidationFailed),
)


@router.get("", response_model=EventList)
async def list_events(
    database: DatabaseDep, org: CurrentOrg, query: Annotated[EventQuery, Query()]
) -> Response:
    """Every change of the organization's orders, in commit order: follow meta.next_cursor."""
    page = await database.run(
        partial(
            service.feed,
            organization=org,
            after=query.after,
            types=query.types,
            order_id=query.order_id,
            limit=query.limit,
        ),
        write=False,
    )
    # Each event is kept as the JSON it is sent as: the page is those bodies, joined.
    tail = dump_json(
        {
            "count": len(page.bodies),
            "has_next": page.has_next,
            "meta": {"next_cursor": page.next_cursor},
        }
    )
    body = b'{"data":[' + ",".join(page.bodies).encode() + b"]," + tail[1:]
    return Response(body, media_type="application/json")
