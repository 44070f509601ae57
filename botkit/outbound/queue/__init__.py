"""The durable outbound queue: jobs in line per sender, claims under leases, dead letters (protocol,
memory, redis)."""
