"""botkit sandbox: a local stand-in for the part of Twilio botkit uses, and phones to test with.

It shares only pure helpers with the pipeline (address parsing, segment counting); the pipeline
reaches it over HTTP, exactly as it reaches Twilio.
"""

from botkit.sandbox.app import Sandbox, create_sandbox_app
from botkit.sandbox.config import SandboxConfig

__all__ = ["Sandbox", "SandboxConfig", "create_sandbox_app"]
