"""The ground floor: the rule clock, the event loop, task helpers and network helpers. Imports
nothing else of botkit."""
