"""Compliance: opt-out keywords (STOP/START/HELP) and the consent ledger they write to.

These modules know nothing of the webhook pipeline or the outbound worker; both call into them, so
the rules that keep a bot compliant live in one place and are tested on their own.
"""
