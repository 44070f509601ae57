"""Everything that happens to an accepted webhook: the durable inbound queue, its workers, and the
pipelines that route an event to the bot's handlers."""
