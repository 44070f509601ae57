"""Each sent message's latest delivery status, moved forward only (protocol, memory, redis)."""
