"""The handoff tests' stage: a bot server and the sandbox calling it back."""

from tests.support.handoff_stack import handoff_stack

__all__ = ["handoff_stack"]
