"""Outbound webhooks: endpoints that other systems register, and the dispatcher that sends
them every event they asked for, signed, in order per order, retried until delivered."""
