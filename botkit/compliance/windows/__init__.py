"""The WhatsApp 24-hour customer service window: when each user last wrote to each sender (protocol,
memory, redis)."""
