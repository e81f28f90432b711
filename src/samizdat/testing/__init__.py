"""Test helpers that ship with samizdat: a local platform simulator (also the offline demo)."""

from samizdat.testing.simulator import WECHAT_PAGES, Simulator, tiny_png
from samizdat.testing.timeline import REMOVALS_CSV

# The removal dataset (Wechatscope 2018–2020) the timeline draws from.
REMOVALS = REMOVALS_CSV / "wechatscope-removals-2018-2020.csv.gz"

__all__ = ["REMOVALS", "WECHAT_PAGES", "Simulator", "tiny_png"]
