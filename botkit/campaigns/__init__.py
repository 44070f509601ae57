"""Campaigns: one message to many people (``bot.broadcast``, ``botkit broadcast``), fed to the
outbound queue as fast as the sender can send, and followed by its counts."""
