"""Test helpers that ship with samizdat: a local platform simulator (also the offline demo)."""

from samizdat.testing.simulator import Simulator, tiny_png

__all__ = ["Simulator", "tiny_png"]
