"""Evidence stage: a tamper-evident log of what the archive asserts, and the archive's key."""
