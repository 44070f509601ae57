"""The composition root: the one place that reads settings and builds every store, queue, ledger,
mirror and Twilio client."""
