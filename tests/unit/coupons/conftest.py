"""Unit tests import ``chalicelib.coupons`` the way Lambda does: the service folder is the
task root, which ``load_app`` puts on the path (no AWS is touched)."""

from infrastructure.dev.apps import load_app

load_app("coupons")
