"""The gates (``make check``, ``.ci/run``, pre-commit): lint, format, types and layering.

The services come from the one list (``campaign_shared.resources.SERVICES``); the layering
contracts are generated from it, so a new service is checked without editing this file.

- ``ruff check`` and ``ruff format --check`` over the code, the tests and the benchmarks;
- mypy, untyped definitions disallowed, over the shared package, ``infrastructure/`` and
  every service (each service on its own: each is a Lambda task root with an ``app.py``);
- import-linter contracts: no service imports another; the shared package imports no
  service; a service's ``domain`` imports no boto3/botocore, store or messaging; nothing
  deployable imports ``infrastructure.local`` (the emulator).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PATHS = ["services", "infrastructure", "tests", "bench", "tools"]


def _services() -> list[str]:
    sys.path.insert(0, str(ROOT / "services"))
    from campaign_shared.resources import SERVICES

    return list(SERVICES)


def _existing(modules: list[str]) -> list[str]:
    """The modules of ``modules`` that exist (a service without message handlers has no
    ``consumer``); import-linter refuses a contract that names a missing module."""
    found = []
    for module in modules:
        service, *rest = module.split(".")[1:]
        base = ROOT / "services" / service / "chalicelib" / service / Path(*rest)
        if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
            found.append(module)
    return found


def contracts(services: list[str]) -> str:
    packages = [f"chalicelib.{s}" for s in services]
    domains = _existing([f"{p}.domain" for p in packages])
    impure = _existing([f"{p}.{m}" for p in packages for m in ("store", "consumer", "usecases")])
    lines = [
        "[importlinter]",
        "root_packages =\n    chalicelib\n    campaign_shared\n    infrastructure",
        "include_external_packages = True",
        "",
        "[importlinter:contract:services-independent]",
        "name = No service imports another",
        "type = independence",
        "modules =\n" + "\n".join(f"    {p}" for p in packages),
        "",
        "[importlinter:contract:shared-imports-no-service]",
        "name = The shared package imports no service",
        "type = forbidden",
        "source_modules =\n    campaign_shared",
        "forbidden_modules =\n    chalicelib",
        "",
        "[importlinter:contract:pure-domain]",
        "name = A service's domain imports no boto3/botocore, store or messaging",
        "type = forbidden",
        "source_modules =\n" + "\n".join(f"    {m}" for m in domains),
        "forbidden_modules =\n    boto3\n    botocore\n    campaign_shared.aws\n    campaign_shared.storage"
        "\n    campaign_shared.messaging\n" + "\n".join(f"    {m}" for m in impure),
        "",
        "[importlinter:contract:deployable-not-local]",
        "name = Nothing deployable imports infrastructure.local",
        "type = forbidden",
        "source_modules =\n    campaign_shared\n    chalicelib",
        "forbidden_modules =\n    infrastructure.local\n    infrastructure.dev",
        "",
    ]
    return "\n".join(lines)


def run(label: str, args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> bool:
    print(f"== {label}", flush=True)
    done = subprocess.run(args, cwd=cwd, env={**os.environ, **(env or {})})
    if done.returncode:
        print(f"!! {label} failed", flush=True)
    return done.returncode == 0


def main() -> int:
    services = _services()
    config = str(ROOT / "pyproject.toml")
    results = [
        run("ruff check", [str(BIN / "ruff"), "check", *PATHS]),
        run("ruff format --check", [str(BIN / "ruff"), "format", "--check", *PATHS]),
        run(
            "mypy shared + infrastructure",
            [
                str(BIN / "mypy"),
                "--config-file",
                config,
                "services/campaign_shared",
                "infrastructure",
                "tools",
            ],
        ),
    ]
    for name in services:
        folder = ROOT / "services" / name
        results.append(
            run(
                f"mypy {name}",
                [str(BIN / "mypy"), "--config-file", config, "app.py", "chalicelib"],
                cwd=folder,
                env={"MYPYPATH": str(ROOT / "services")},
            )
        )
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as handle:
        handle.write(contracts(services))
    path = os.pathsep.join(
        [*(str(ROOT / "services" / s) for s in services), str(ROOT / "services"), str(ROOT)]
    )
    results.append(
        run(
            "import-linter",
            [str(BIN / "lint-imports"), "--no-cache", handle.name],
            env={"PYTHONPATH": path},
        )
    )
    os.unlink(handle.name)
    failed = results.count(False)
    print(f"== {len(results) - failed} of {len(results)} gates passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
