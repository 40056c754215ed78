"""A faithful fake of WeCom for the demo and the tests."""

from integrations.wecom.sandbox.app import Sandbox
from integrations.wecom.sandbox.callbacks import CallbackFailed
from integrations.wecom.sandbox.state import CallbackResult, SandboxConfig, SentMessage

__all__ = ["CallbackFailed", "CallbackResult", "Sandbox", "SandboxConfig", "SentMessage"]
