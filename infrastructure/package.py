"""``campaign package NAME``: build every service for the campaign's stage, offline.

For each service, ``services/<svc>/`` is copied to ``dist/NAME/build/<svc>/`` with the shared
package vendored into ``vendor/`` and an empty ``requirements.txt`` (so Chalice downloads
nothing), and ``chalice package`` writes its SAM template and ``deployment.zip``. Third-party
packages (pydantic, PyJWT, Powertools, ...) go into one Lambda layer built from the installed
site-packages (CPython 3.11 x86_64 linux, the Lambda runtime's platform). Each template is
merged with the service's resources (``cfn.augment_service``), translated to plain
CloudFormation and linted. Nothing touches the network or AWS.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from infrastructure import cfn, cfn_api
from infrastructure.campaign_def import CampaignDef, CampaignError
from infrastructure.dev.apps import SERVICE_NAMES, service_dir

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "dist"
SHARED_PACKAGE = REPO / "services" / "campaign_shared"
# What the services import at run time, beyond the standard library and the Lambda runtime.
LAYER_ROOTS = ("pydantic", "PyJWT", "aws-lambda-powertools[tracer]", "segno")
# Lambda's python3.11 runtime ships these (boto3 and its dependencies).
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "urllib3", "python-dateutil", "six", "jmespath"}
# Imported lazily by the services (inside functions): checked at package time too.
LAZY_IMPORTS = ("aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.metrics", "jwt", "segno")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor", "deployments", ".pytest_cache")

Log = Callable[[str], None]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


# ---- the dependencies layer ----------------------------------------------------------------------


def check_platform() -> None:
    if (sys.implementation.name, sys.version_info[:2], platform.system(), platform.machine()) != (
        "cpython",
        (3, 11),
        "Linux",
        "x86_64",
    ):
        raise CampaignError(
            "packaging vendors compiled wheels from this interpreter, which must match Lambda's "
            "python3.11 x86_64: "
            f"run it with CPython 3.11 on linux x86_64 (this is {sys.implementation.name} "
            f"{sys.version_info[0]}.{sys.version_info[1]} {platform.system()} {platform.machine()})"
        )


def layer_distributions(roots: tuple[str, ...] = LAYER_ROOTS) -> list[metadata.Distribution]:
    """The installed distributions the roots need (their markers evaluated for this interpreter)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    provided = {canonicalize_name(n) for n in RUNTIME_PROVIDED}
    found: dict[str, metadata.Distribution] = {}
    pending = [Requirement(r) for r in roots]
    while pending:
        req = pending.pop()
        key = canonicalize_name(req.name)
        if key in provided:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise CampaignError(f"{req.name} is not installed: run `make install`") from None
        first = key not in found
        found[key] = dist
        for text in dist.requires or []:
            sub = Requirement(text)
            wanted = [""] + sorted(req.extras)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in wanted):
                if first or req.extras:
                    pending.append(sub)
    return [found[k] for k in sorted(found)]


def build_layer(out: Path, cache: Path) -> Path:
    """``layer.zip`` with ``python/<packages>``; cached by the set of installed versions."""
    check_platform()
    dists = layer_distributions()
    pins = sorted(f"{d.metadata['Name']}=={d.version}" for d in dists)
    key = hashlib.sha256("\n".join([*pins, sys.version, platform.machine()]).encode()).hexdigest()[:16]
    cached = cache / f"layer-{key}.zip"
    if not cached.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        entries: dict[str, Path] = {}
        for dist in dists:
            for file in dist.files or []:
                relative = str(file)
                if relative.startswith("..") or "__pycache__" in relative or relative.endswith(".pyc"):
                    continue
                entries[f"python/{relative}"] = Path(str(dist.locate_file(file)))
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for name in sorted(entries):
                if not entries[name].is_file():
                    continue
                info = zipfile.ZipInfo(name, _ZIP_DATE)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, entries[name].read_bytes())
        partial.replace(cached)
    target = out / "layer.zip"
    shutil.copyfile(cached, target)
    (out / "layer.txt").write_text("\n".join(pins) + "\n", encoding="utf-8")
    return target


# ---- one service -----------------------------------------------------------------------------------


def prepare_build(defn: CampaignDef, service: str, build: Path) -> None:
    """Copy the service, vendor the shared package, and give Chalice the campaign's stage."""
    if build.exists():
        shutil.rmtree(build)
    shutil.copytree(service_dir(service), build, ignore=_IGNORE)
    shutil.copytree(SHARED_PACKAGE, build / "vendor" / "campaign_shared", ignore=_IGNORE)
    (build / "requirements.txt").write_text("", encoding="utf-8")
    config_path = build / ".chalice" / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["stages"] = {
        defn.stage: {
            "api_gateway_stage": cfn.API_STAGE,
            "api_gateway_endpoint_type": "REGIONAL",
            "environment_variables": {"CAMPAIGN_STAGE": defn.stage},
        }
    }
    _write_json(config_path, config)


def configured_timeouts(build: Path) -> dict[str, int]:
    """The function timeouts a service's own Chalice config sets (``*``: the app-wide one)."""
    config = json.loads((build / ".chalice" / "config.json").read_text(encoding="utf-8"))
    found = {"*": config["lambda_timeout"]} if "lambda_timeout" in config else {}
    for name, settings in config.get("lambda_functions", {}).items():
        if "lambda_timeout" in settings:
            found[name] = settings["lambda_timeout"]
    return found


# One interpreter packages every service (Chalice's import cost is paid once). Each app is
# imported as ``app`` from its own build folder, so the previous one is forgotten first.
_CHALICE_DRIVER = """
import json, sys
from chalice.cli import cli
builds = json.loads(sys.argv[1])
for service, project, target, stage in builds:
    sys.modules.pop("app", None)
    sys.path[:] = [p for p in sys.path if p not in [b[1] for b in builds]]
    try:
        cli.main(args=["--project-dir", project, "package", "--pkg-format", "cloudformation",
                       "--stage", stage, target], obj={}, standalone_mode=False)
    except BaseException as exc:
        sys.exit(f"{service}: {type(exc).__name__}: {exc}")
"""


def chalice_package(defn: CampaignDef, builds: dict[str, tuple[Path, Path]]) -> None:
    """``chalice package --stage NAME`` for each service: build folder -> target folder."""
    for _, target in builds.values():
        shutil.rmtree(target, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CAMPAIGN_"))}
    # Chalice builds a boto3 client just to learn the region: with placeholder credentials and
    # the instance-metadata lookup off, that never touches the network (no AWS call is made).
    env.update(
        AWS_DEFAULT_REGION=defn.region,
        AWS_ACCESS_KEY_ID="offline-packaging",
        AWS_SECRET_ACCESS_KEY="offline-packaging",
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONDONTWRITEBYTECODE="1",
        PIP_NO_INDEX="1",
    )
    jobs = [[service, str(build), str(target), defn.stage] for service, (build, target) in builds.items()]
    done = subprocess.run(
        [sys.executable, "-c", _CHALICE_DRIVER, json.dumps(jobs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit status {done.returncode}"
        raise CampaignError(f"chalice package failed: {last}")


def smoke_import(codes: dict[str, Path], layer_dir: Path, runtime_dir: Path, work: Path) -> None:
    """Import every packaged app with only its code zip, the layer and the Lambda runtime's
    packages on the path (no site-packages), as Lambda would; one interpreter for all."""
    roots = {}
    for service, code_zip in codes.items():
        root = work / f"smoke-{service}"
        shutil.rmtree(root, ignore_errors=True)
        with zipfile.ZipFile(code_zip) as archive:
            archive.extractall(root)
        roots[service] = str(root)
    script = (
        "import importlib, importlib.util, pathlib, sys\n"
        f"roots = {roots!r}\n"
        f"sys.path[:0] = [*roots.values(), {str(layer_dir)!r}, {str(runtime_dir)!r}]\n"
        "for service, root in roots.items():\n"
        "    try:\n"
        "        spec = importlib.util.spec_from_file_location('app_' + service, root + '/app.py')\n"
        "        spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "        for path in sorted(pathlib.Path(root, 'chalicelib', service).rglob('*.py')):\n"
        "            parts = path.relative_to(root).with_suffix('').parts\n"
        "            importlib.import_module('.'.join(p for p in parts if p != '__init__'))\n"
        f"        for name in {list(LAZY_IMPORTS)!r}:\n"
        "            importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        sys.exit(f'{service}: {exc!r}')\n"
    )
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    for folder in roots.values():
        shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise CampaignError(
            f"a packaged app does not import on Lambda's python3.11 without site-packages ({last}); "
            "add the missing distribution to LAYER_ROOTS in infrastructure/package.py"
        )


def _runtime_dir(work: Path) -> Path:
    """A folder with just the packages the Lambda runtime provides (boto3 and friends)."""
    import importlib.util

    target = work / "runtime"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for module in ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six", "jmespath"):
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (target / source.name).symlink_to(source)
    return target


# ---- the docs function -------------------------------------------------------------------------------


def build_docs(defn: CampaignDef, out: Path) -> Path:
    """``docs/docs.zip``: the docs function (``campaign_shared.docs``), the OpenAPI document of
    every service generated now, and Swagger UI's files, so the deployed API serves its docs
    with no CDN. The document's server is the campaign's custom domain, if any (its paths are
    the domain's base paths, ``/coupons/...``)."""
    from campaign_shared import docs
    from infrastructure.dev.apps import load_app
    from infrastructure.dev.openapi import document

    modules = {name: load_app(name) for name in SERVICE_NAMES}
    servers = [f"https://{defn.domain.name}"] if defn.domain is not None else None
    doc = document(
        [(name, module.api.docs) for name, module in modules.items()],
        title=f"Campaign {defn.name}",
        servers=servers,
    )
    assets = docs.installed_assets()
    entries: dict[str, bytes] = {
        "campaign_shared/__init__.py": (SHARED_PACKAGE / "__init__.py").read_bytes(),
        "campaign_shared/docs.py": (SHARED_PACKAGE / "docs.py").read_bytes(),
        "docs/openapi.json": json.dumps(doc, separators=(",", ":")).encode(),
        **{f"docs/assets/{name}": (assets / name).read_bytes() for name in docs.ASSETS},
    }
    target = out / "docs" / "docs.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, _ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])
    return target


# ---- SAM to plain CloudFormation ------------------------------------------------------------------


def to_cloudformation(sam: dict[str, Any], region: str) -> dict[str, Any]:
    """Translate a SAM template offline with aws-sam-translator (moto has no SAM transform;
    AWS accepts either). Our templates name no managed policies, so the policy map is empty."""
    import copy

    import boto3
    from samtranslator.metrics.metrics import Metrics
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.transform import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(sam)
    parameters: dict[str, Any] = {}
    to_py27_compatible_template(template, parameters)
    metrics = Metrics()
    session = boto3.session.Session(region_name=region)
    translator = Translator(None, Parser(), boto_session=session, metrics=metrics)
    try:
        translated = translator.translate(template, parameter_values=parameters, get_managed_policy_map=dict)
    except InvalidDocumentException as exc:
        causes = "; ".join(str(c) for c in exc.causes) or str(exc)
        raise CampaignError(f"SAM translation failed: {causes}") from None
    finally:
        metrics.publish()  # to a no-op publisher: it only keeps the translator quiet
    return undo_mark_unicode_str_in_template(translated)


# ---- the campaign ----------------------------------------------------------------------------------


def package(
    defn: CampaignDef, source: Path, dist: Path = DIST, lint: bool = True, log: Log = print
) -> dict[str, Any]:
    """Write ``dist/NAME/``: templates, code zips, the layer and ``manifest.json``."""
    started = datetime.now(UTC)
    out = dist / defn.name
    for stale in ("build", "shared", "account", "docs", "manifest.json", ".work", *SERVICE_NAMES):
        path = out / stale
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    log(f"packaging campaign {defn.name} (stage {defn.stage}, region {defn.region}) into {out}")
    layer = build_layer(out, dist / ".cache")
    layer_sha = _sha256(layer)
    layer_key = f"{defn.name}/layer-{layer_sha[:16]}.zip"
    work = out / ".work"
    layer_dir = work / "layer"
    with zipfile.ZipFile(layer) as archive:
        archive.extractall(layer_dir)
    runtime_dir = _runtime_dir(work)
    log(f"  layer: {layer.stat().st_size // 1024} KiB ({layer_key})")

    builds = {service: (out / "build" / service, out / service / "chalice") for service in SERVICE_NAMES}
    for service, (build, _) in builds.items():
        prepare_build(defn, service, build)
    chalice_package(defn, builds)
    built: dict[str, dict[str, Any]] = {}
    for service, (_, chalice_out) in builds.items():
        code = out / service / "deployment.zip"
        shutil.move(str(chalice_out / "deployment.zip"), code)
        shutil.move(str(chalice_out / "sam.json"), out / service / "chalice-sam.json")
        shutil.rmtree(chalice_out)
        digest = _sha256(code)
        key = f"{defn.name}/{service}/{digest[:16]}.zip"
        built[service] = {"code": {"file": f"{service}/deployment.zip", "key": key, "sha256": digest}}

    with ThreadPoolExecutor(max_workers=1) as pool:
        # The import check runs in its own interpreter while the templates are merged here.
        smoke = pool.submit(
            smoke_import,
            {s: out / s / "deployment.zip" for s in SERVICE_NAMES},
            layer_dir / "python",
            runtime_dir,
            work,
        )
        for service, result in built.items():
            sam = json.loads((out / service / "chalice-sam.json").read_text(encoding="utf-8"))
            result["warnings"] = cfn.augment_service(
                sam, defn, service, result["code"]["key"], configured_timeouts(builds[service][0])
            )
            _write_json(out / service / "sam.json", sam)
            _write_json(out / service / "template.json", to_cloudformation(sam, defn.region))
        smoke.result()
    shutil.rmtree(work, ignore_errors=True)
    docs_zip = build_docs(defn, out)
    docs_sha = _sha256(docs_zip)
    docs_entry = {"file": "docs/docs.zip", "key": f"{defn.name}/docs/{docs_sha[:16]}.zip", "sha256": docs_sha}
    _write_json(out / "shared" / "template.json", cfn.shared_template(defn, layer_key, docs_entry["key"]))
    _write_json(out / "account" / "template.json", cfn_api.account_template())

    stacks = []
    warnings: list[str] = []
    for part in cfn.stack_parts():
        entry: dict[str, Any] = {
            "part": part,
            "stack": cfn.stack_name(defn.name, part),
            "template": f"{part}/template.json",
        }
        if part in built:
            entry["sam"] = f"{part}/sam.json"
            entry["code"] = built[part]["code"]
            warnings += [f"{part}: {w}" for w in built[part]["warnings"]]
        template = json.loads((out / entry["template"]).read_text(encoding="utf-8"))
        entry["resources"] = len(template["Resources"])
        stacks.append(entry)
        log(f"  {entry['stack']}: {entry['resources']} resources")
    account = {"stack": cfn_api.ACCOUNT_STACK, "template": "account/template.json"}
    lint_report = lint_templates(out, [account, *stacks], defn.region) if lint else {"skipped": True}
    manifest = {
        "format": "campaign-package/1",
        "campaign": defn.name,
        "region": defn.region,
        "definition": str(source),
        "definition_sha256": defn.digest(),
        "created_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "layer": {"file": "layer.zip", "key": layer_key, "sha256": layer_sha},
        "stacks": stacks,
        "account": account,
        "docs": docs_entry,
        "warnings": warnings,
        "lint": lint_report,
    }
    _write_json(out / "manifest.json", manifest)
    for warning in warnings:
        log(f"  warning: {warning}")
    seconds = (datetime.now(UTC) - started).total_seconds()
    log(f"packaged {len(stacks)} stacks in {seconds:.1f}s; lint: {_lint_summary(lint_report)}")
    return manifest


def _lint_summary(report: dict[str, Any]) -> str:
    if report.get("skipped"):
        return "skipped"
    return f"{report['errors']} errors, {report['warnings']} warnings"


def lint_templates(out: Path, stacks: list[dict[str, Any]], region: str) -> dict[str, Any]:
    """cfn-lint every deployable template (two linters in parallel); any error fails the package."""
    linter = Path(sys.executable).parent / "cfn-lint"
    if not linter.exists():
        return {"skipped": True, "reason": "cfn-lint is not installed (pip install -e '.[dev]')"}
    files = [str(out / entry["template"]) for entry in stacks]
    chunks = [files[i::2] for i in range(2) if files[i::2]]

    def run(chunk: list[str]) -> list[dict[str, Any]]:
        done = subprocess.run(
            [str(linter), "--format", "json", "--regions", region, "--", *chunk],
            capture_output=True,
            text=True,
            timeout=600,
        )
        try:
            return list(json.loads(done.stdout or "[]"))
        except json.JSONDecodeError:
            last = (done.stderr.strip().splitlines() or ["?"])[-1]
            raise CampaignError(f"cfn-lint failed: {last}") from None

    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        matches = [m for found in pool.map(run, chunks) for m in found]
    report: dict[str, Any] = {"templates": len(files), "errors": 0, "warnings": 0, "findings": []}
    for match in matches:
        where = Path(match["Filename"]).relative_to(out)
        finding = f"{where}: {match['Rule']['Id']} {match['Message']}"
        report["findings"].append(finding)
        report["errors" if match["Level"] == "Error" else "warnings"] += 1
        if match["Level"] == "Error":
            raise CampaignError(f"{finding} (cfn-lint error; fix the generator in infrastructure/cfn.py)")
    return report
