"""Durable timers: a handler run later for one person, as if they had written (reminders)."""
