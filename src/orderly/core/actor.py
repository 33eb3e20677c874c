"""Who is acting: every change of an order is recorded in the audit trail with it.

Set once where a unit of work learns who asked: the API from the request's token
(``token:tok_…``), the command line (``cli``). A platform's order carries its connection
(``connection:con_…``) itself, since one batch of webhooks holds many connections' orders.
A context variable, so that it follows a request into the thread its unit of work runs in.
"""

from contextvars import ContextVar

current_actor: ContextVar[str] = ContextVar("current_actor", default="system")
