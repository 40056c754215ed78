"""Run the sandbox alone: python -m integrations.wecom.sandbox --port 8081 --callback-url URL."""

from __future__ import annotations

import argparse
import asyncio

from integrations.wecom.sandbox import Sandbox, SandboxConfig


def _parse_user(value: str) -> tuple[str, str]:
    userid, _, name = value.partition("=")
    return userid, name or userid


async def _serve(args: argparse.Namespace) -> None:
    config = SandboxConfig(callback_url=args.callback_url, users=dict(args.user or []))
    sandbox = Sandbox(config)
    base_url = await sandbox.start(args.host, args.port)
    print(f"WeCom sandbox on {base_url} (corp {config.corp_id}, agent {config.agent_id})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake WeCom for opsbot demos and tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--callback-url", default=None, help="the bot's /wecom/callback URL")
    parser.add_argument("--user", action="append", type=_parse_user, help="userid=name; repeatable")
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
