"""A bot's own records (tickets, orders, survey answers): JSON documents under keys the bot
chooses, kept beside the sessions in the same backend (protocol, memory, redis)."""
