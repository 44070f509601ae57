"""The participant mirror: each conversation's participants, readable without an API call (protocol,
memory, redis)."""
