"""The events feed: one event per change of an order, in commit order, for other systems."""
