"""The aiohttp server: Twilio webhooks and health endpoints."""
