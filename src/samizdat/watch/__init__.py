"""Watch stage: first-sight capture now; scheduled re-checks and outcomes build on it."""

from samizdat.watch.capture import CaptureOutcome, Capturer, CaptureStatus

__all__ = ["CaptureOutcome", "CaptureStatus", "Capturer"]
