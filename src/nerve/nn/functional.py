"""``nerve.nn.functional``: the functional ops, under the name PyTorch users expect."""
from ..functional import *  # noqa: F401,F403
from ..functional import __dict__ as _all

globals().update({k: v for k, v in _all.items() if not k.startswith("_")})
