"""Example bots. They use only the public API exported by ``botkit``."""
