"""Idempotency-Key: a retried write answers as the first one did instead of writing again."""
