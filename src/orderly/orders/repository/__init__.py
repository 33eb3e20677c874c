"""Every query on orders, line items, status history and their counts, by concern:

- ``_queries``: the list filters as SQL, keyset pages, plain rows, lookups (reading);
- ``_counts``: the maintained counts;
- ``_records``: an order's shipments, refunds, returns and notes (reading);
- ``_writes``: the one write path (rows, history, counts and audit of every write, records
  included).

The CSV that PostgreSQL writes itself (COPY) is the export's (``export/repository.py``).
"""

from orderly.orders.repository._counts import CountKey, adjust_counts, count_key
from orderly.orders.repository._queries import (
    Filtered,
    child_rows,
    count_orders,
    counts_by_status,
    dialect_of,
    filtered,
    find_by_external_id,
    find_by_external_ids,
    get_order,
    list_order_rows,
    order_rows,
    ordering,
    sources_of,
    stream_order_rows,
    table,
    where,
)
from orderly.orders.repository._records import (
    MODELS,
    RECORD_BITS,
    Kind,
    external_ids,
    kinds_in,
    order_of_record,
    record_row,
    records_of,
)
from orderly.orders.repository._writes import (
    STATUS_COLUMNS,
    Change,
    RecordChange,
    Revision,
    StatusPlan,
    change_statuses,
    delete_orders,
    insert_orders,
    revise,
    searchable,
    tracking_numbers,
    write_records,
)

__all__ = [
    "MODELS",
    "RECORD_BITS",
    "STATUS_COLUMNS",
    "Change",
    "CountKey",
    "Filtered",
    "Kind",
    "RecordChange",
    "Revision",
    "StatusPlan",
    "adjust_counts",
    "change_statuses",
    "child_rows",
    "count_key",
    "count_orders",
    "counts_by_status",
    "delete_orders",
    "dialect_of",
    "external_ids",
    "filtered",
    "find_by_external_id",
    "find_by_external_ids",
    "get_order",
    "insert_orders",
    "kinds_in",
    "list_order_rows",
    "order_of_record",
    "order_rows",
    "ordering",
    "record_row",
    "records_of",
    "revise",
    "searchable",
    "sources_of",
    "stream_order_rows",
    "table",
    "tracking_numbers",
    "where",
    "write_records",
]
