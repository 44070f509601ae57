"""The consent ledger: who opted out of which sender, hashed, with an audit trail (protocol, memory,
redis)."""
