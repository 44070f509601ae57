"""Handoff records and the queue of conversations waiting for an agent (protocol, memory, redis)."""
