"""The one outbound path: messages, the outbox, the durable queue, rate limits, shaping and the
workers that send to Twilio."""
