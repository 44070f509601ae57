"""Intent routing: routers, matchers, middleware and handler invocation."""
