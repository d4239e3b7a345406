"""``campaign``: local tokens, the local stack, and per-campaign stacks on AWS."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path


def _secret() -> str:
    return os.environ.get("CAMPAIGN_JWT_SECRET") or "local-dev-secret"


def cmd_token(args: argparse.Namespace) -> int:
    from campaign_shared.auth import mint

    print(mint(role=args.role, shop=args.shop, sub=args.sub, secret=_secret(), ttl_seconds=args.ttl))
    return 0


def cmd_local(args: argparse.Namespace) -> int:
    from campaign_shared.auth import mint
    from infrastructure.campaign_def import CampaignError, load
    from infrastructure.local.faults import FaultInjector
    from infrastructure.local.stack import LocalStack

    data_dir = None if args.no_data else Path(args.data)
    faults = FaultInjector.from_env(dict(os.environ))
    try:
        definition, _ = load(args.campaign, args.file)
    except CampaignError as exc:
        print(f"campaign local: error: {exc}", file=sys.stderr)
        return 1
    stack = LocalStack(
        host=args.host,
        port=args.port,
        moto_port=args.moto_port,
        stage=args.stage,
        data_dir=data_dir,
        faults=faults,
        cors_allow_origins=definition.cors.allow_origins,
        cors_max_age=definition.cors.max_age_seconds,
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack.start()
    merchant = mint(role="merchant", shop=args.shop, sub="m1", secret=stack.jwt_secret)
    storefront = mint(role="storefront", shop=args.shop, sub="store", secret=stack.jwt_secret)
    customer = mint(role="customer", shop=args.shop, sub="c1", secret=stack.jwt_secret)
    restored, queued = sum(stack.restored.values()), sum(stack.restored_messages.values())
    print(f"campaign local stack ready at {stack.url}  (embedded AWS at {stack.moto.url})", flush=True)
    print(f"  OpenAPI:          {stack.url}/openapi.json")
    print(f"  docs:             {stack.url}/docs")
    origins = ", ".join(definition.cors.allow_origins) or "none"
    print(f"  CORS origins:     {origins}  (cors.allow_origins of campaign {definition.name})")
    kept = f"restored items: {restored}, queued messages: {queued}" if data_dir else ""
    print(f"  data folder:      {data_dir or '(not kept)'}  {kept}")
    print(f"  merchant token:   {merchant}")
    print(f"  storefront token: {storefront}")
    print(f"  customer token:   {customer}")
    if faults is not None:
        where, kinds = ", ".join(faults.services), ", ".join(faults.kinds)
        print(f"  FAULT INJECTION:  {faults.rate:.0%} of {where} calls fail ({kinds})")
    if data_dir:
        print("  every answered write is journalled; Ctrl-C compacts the journal and stops.", flush=True)
    else:
        print("  Ctrl-C stops; nothing is kept.", flush=True)
    while not stopping.wait(0.5):  # a timed wait lets the signal handler run promptly
        pass
    print("stopping: saving data..." if data_dir else "stopping...", flush=True)
    saved = stack.stop()
    print(f"stopped; saved {sum(saved.values())} items to {data_dir}" if data_dir else "stopped", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="campaign", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    token = sub.add_parser("token", help="mint a JWT for local use")
    token.add_argument("--role", required=True, choices=["merchant", "customer", "storefront"])
    token.add_argument("--shop", required=True)
    token.add_argument("--sub", required=True)
    token.add_argument("--ttl", type=int, default=7 * 24 * 3600, help="seconds until the token expires")
    token.set_defaults(func=cmd_token)

    local = sub.add_parser("local", help="serve every service locally on an embedded AWS")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=int(os.environ.get("CAMPAIGN_PORT", "8000")))
    local.add_argument("--moto-port", type=int, default=0)
    local.add_argument("--stage", default="local")
    local.add_argument("--shop", default="s1")
    local.add_argument(
        "--data",
        default=".localdata",
        help="folder that keeps tables and queued messages across restarts and crashes",
    )
    local.add_argument("--no-data", action="store_true", help="keep nothing across restarts")
    local.add_argument(
        "--campaign",
        default="dev",
        help="the campaign definition whose settings (CORS origins) the local stack honours",
    )
    local.add_argument("--file", help="the campaign file (default: infrastructure/campaigns/CAMPAIGN.json)")
    local.set_defaults(func=cmd_local)

    # Per-campaign stacks on AWS: package, deploy, export, import, destroy, dlq, status.
    from infrastructure import ops_cli

    ops_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
