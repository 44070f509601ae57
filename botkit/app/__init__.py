"""What a bot is: Bot (the top router), Router, matchers, handler injection, hooks, flow routing,
knowledge files and lifecycle hooks."""
