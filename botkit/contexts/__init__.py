"""What handlers and hooks receive: the 1:1 Context, the ConversationContext, hook and status
contexts, and the one send signature they share."""
