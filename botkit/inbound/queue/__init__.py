"""The inbound queue: accepted webhooks, deduplicated, waiting for a worker (protocol, memory,
redis)."""
