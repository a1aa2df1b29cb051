"""Leased work, once for every worker: `retry` (when to try again: backoff with jitter, a receiver's
`Retry-After`) and `leases` (claim due rows with a lease, check and release it when recording an
outcome, and the worker loop). The dispatcher, Instagram enrichment, platform replies and the SLA
sweeper keep only their own work and their own schedules."""
