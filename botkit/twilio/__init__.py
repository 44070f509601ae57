"""Twilio payload models and helpers. Depends on nothing else in botkit, by design."""
