"""Per-conversation state under a lease lock: the protocol, its memory and Redis stores, the keys
and the locking helpers."""
