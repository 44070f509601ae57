"""Side effects that happen once: the stored results of ``ctx.once`` (protocol, memory, redis)."""
