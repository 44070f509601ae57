"""Outbound messages: the Outbox seam that handlers send through."""
