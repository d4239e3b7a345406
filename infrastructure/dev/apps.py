"""Loading a service's Chalice app the way Lambda does: the service folder is the task
root (on ``sys.path``) and ``app.py`` is the handler module.

Several apps share one process locally and in tests, so each ``app.py`` is loaded under a
module name of its own, and each service keeps its code in ``chalicelib/<service>/``
(``chalicelib`` is a namespace package, so the four folders merge without clashing).
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

from campaign_shared.resources import SERVICES

SERVICES_DIR = Path(__file__).resolve().parent.parent.parent / "services"
SERVICE_NAMES = tuple(SERVICES)  # the one list of services: the resource definition

_lock = threading.Lock()
_loaded: dict[str, ModuleType] = {}


def service_dir(name: str) -> Path:
    if name not in SERVICE_NAMES:
        raise KeyError(f"unknown service {name!r}")
    return SERVICES_DIR / name


def load_app(name: str) -> ModuleType:
    """Import ``services/<name>/app.py`` once and return the module (``.app`` is the Chalice app)."""
    with _lock:
        module = _loaded.get(name)
        if module is not None:
            return module
        root = service_dir(name)
        if str(root) not in sys.path:
            sys.path.append(str(root))  # Lambda's task root; chalicelib/<name> lives here
        module_name = f"campaign_app_{name}"
        spec = importlib.util.spec_from_file_location(module_name, root / "app.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {root / 'app.py'}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        _loaded[name] = module
        return module
