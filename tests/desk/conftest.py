"""The desk tests' stage: a bot server and the sandbox calling it back, and the simulator's
headless Chromium."""

from tests.sandbox.test_simulator_browser import browser
from tests.support.handoff_stack import handoff_stack

__all__ = ["browser", "handoff_stack"]
