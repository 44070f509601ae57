"""Pieces the example bots share (see records.py); not part of botkit's public API."""
