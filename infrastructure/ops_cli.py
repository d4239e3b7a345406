"""Subcommands for per-campaign stacks on AWS: package, deploy, export, import, destroy, dlq, status.

Every failure is one line on stderr saying what to fix, and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[argparse.Namespace], int | None]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _dist(args: argparse.Namespace) -> Path:
    from infrastructure.package import DIST

    return Path(args.dist) if args.dist else DIST


def _definition(args: argparse.Namespace) -> Any:
    from infrastructure.campaign_def import load

    definition, path = load(args.name, args.file)
    args.definition_path = path
    return definition


def _target(args: argparse.Namespace, definition: Any) -> Any:
    from infrastructure.operations import connect

    return connect(definition.region, args.endpoint_url, getattr(args, "emulator", "auto"))


def cmd_package(args: argparse.Namespace) -> int:
    from infrastructure.package import package

    definition = _definition(args)
    package(definition, args.definition_path, _dist(args), lint=not args.no_lint)
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from infrastructure.deploy import deploy, load_manifest

    definition = _definition(args)
    load_manifest(_dist(args), definition)  # before any network call: is the package current?
    deploy(definition, _dist(args), _target(args, definition))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from infrastructure.export import export

    definition = _definition(args)
    export(definition, _target(args, definition), Path(args.to), _dist(args))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from infrastructure.export import import_, verify_export

    definition = _definition(args)
    verify_export(Path(args.source))
    import_(definition, _target(args, definition), Path(args.source), merge=args.merge)
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    from infrastructure.export import destroy

    definition = _definition(args)
    destroy(
        definition,
        _target(args, definition),
        _dist(args),
        Path(args.export) if args.export else None,
        delete_tables=args.delete_tables,
    )
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from infrastructure.operations import dlq, redrive

    definition = _definition(args)
    target = _target(args, definition)
    quiet = _printer(args)
    if args.redrive:
        report = redrive(definition, target, args.service, log=quiet)
    else:
        report = dlq(definition, target, args.service, limit=args.limit, log=quiet)
    _print_json(args, report)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from infrastructure.operations import status

    definition = _definition(args)
    _print_json(args, status(definition, _target(args, definition), log=_printer(args)))
    return 0


def _printer(args: argparse.Namespace) -> Callable[[str], None]:
    """The lines for a person, unless ``--json`` asked for the report alone."""
    return (lambda line: None) if getattr(args, "json", False) else print


def _print_json(args: argparse.Namespace, report: Any) -> None:
    if getattr(args, "json", False):
        print(json.dumps(report, indent=2, sort_keys=True, default=str))


def one_line_errors(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """Run a subcommand; turn every expected failure into one line on stderr and exit status 1."""

    def run(args: argparse.Namespace) -> int:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        from infrastructure.campaign_def import CampaignError

        where = getattr(args, "endpoint_url", None) or "AWS"
        try:
            return int(handler(args) or 0)
        except CampaignError as exc:
            message = str(exc)
        except (EndpointConnectionError, ConnectTimeoutError):
            message = f"cannot reach {where}: start it, or fix --endpoint-url / the network"
        except NoCredentialsError:
            message = "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        except ClientError as exc:
            error = exc.response.get("Error", {})
            message = f"{exc.operation_name} on {where} failed: {error.get('Code')}: {error.get('Message')}"
        except BotoCoreError as exc:
            message = f"{where}: {exc}"
        except KeyboardInterrupt:
            message = "interrupted"
        except Exception as exc:  # the last resort: one line, never a traceback
            if os.environ.get("CAMPAIGN_DEBUG"):
                raise
            kind = type(exc).__name__
            message = f"unexpected {kind} talking to {where}: {exc} (CAMPAIGN_DEBUG=1 shows the traceback)"
        line = " ".join(message.split())
        line = line if len(line) <= 400 else line[:399] + "…"
        print(f"campaign {args.command}: error: {line}", file=sys.stderr)
        return 1

    return run


def register(subparsers: Any) -> None:
    """Add the per-campaign subcommands to the ``campaign`` parser."""

    def command(name: str, handler: Handler, help_text: str, aws: bool = True) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("name", help="the campaign (infrastructure/campaigns/NAME.json)")
        parser.add_argument("--file", help="the campaign file (default: infrastructure/campaigns/NAME.json)")
        parser.add_argument("--dist", help="the build folder (default: dist/)")
        if aws:
            parser.add_argument("--endpoint-url", help="an AWS-compatible endpoint instead of AWS (moto...)")
        parser.set_defaults(func=one_line_errors(handler))
        return parser

    package = command(
        "package", cmd_package, "build the campaign's templates and code into dist/NAME", aws=False
    )
    package.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    deploy = command("deploy", cmd_deploy, "create or update the campaign's stacks through change sets")
    deploy.add_argument(
        "--emulator",
        choices=["auto", "moto", "none"],
        default="auto",
        help="adapt to an emulator's gaps (auto: detect moto behind --endpoint-url)",
    )
    export = command("export", cmd_export, "write every table as JSON lines with counts and checksums")
    export.add_argument("--to", required=True, help="a new folder for the export")
    imp = command("import", cmd_import, "load an export into the campaign's (empty) tables")
    imp.add_argument("--from", dest="source", required=True, help="the export folder")
    imp.add_argument("--merge", action="store_true", help="allow tables that already have items")
    destroy = command("destroy", cmd_destroy, "delete the stacks once an export of the current data verifies")
    destroy.add_argument("--export", help="the export folder (default: the campaign's last export)")
    destroy.add_argument("--emulator", choices=["auto", "moto", "none"], default="auto")
    destroy.add_argument(
        "--delete-tables",
        action="store_true",
        help="delete the tables too (kept by default), so the campaign can be deployed again",
    )
    dlq = command("dlq", cmd_dlq, "show dead-lettered messages per queue; --redrive sends them back")
    dlq.add_argument(
        "--service",
        action="append",
        help="only this service's queues, or one queue such as coupons-bulk (repeatable)",
    )
    dlq.add_argument("--redrive", action="store_true", help="move the messages back to their queue")
    dlq.add_argument("--limit", type=_positive, default=10, help="messages to show per queue")
    dlq.add_argument("--json", action="store_true", help="print the report as JSON instead")
    status = command("status", cmd_status, "the stacks, their resources and alarms, and the queue depths")
    status.add_argument("--json", action="store_true", help="print the report as JSON instead")
