"""Test helpers that ship with samizdat: a local platform simulator (also the offline demo)."""

from samizdat.testing.content import WECHAT_PAGES, tiny_png
from samizdat.testing.simulator import Simulator
from samizdat.testing.timeline import REMOVALS_CSV

# The removal dataset (Wechatscope 2018–2020) the timeline draws from.
REMOVALS = REMOVALS_CSV / "wechatscope-removals-2018-2020.csv.gz"

__all__ = ["REMOVALS", "WECHAT_PAGES", "Simulator", "tiny_png"]
