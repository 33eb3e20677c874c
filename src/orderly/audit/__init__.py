"""The audit trail: who created, replaced, moved or deleted each order, and when."""
