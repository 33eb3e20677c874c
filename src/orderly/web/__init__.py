"""The operations dashboard: server-rendered pages for a merchant's staff, in English and
Arabic, served by the API's own process (no second service, no CDN)."""
