"""What was said around a handoff, kept bounded and for a limited time: each conversation's
transcript and each agent's notices (protocol, memory, redis)."""
