"""Work beside the watcher (watch/background.py): a chore's process keeps to its share of a core
and its lower priority, measured from the kernel's own accounting (/proc/PID/stat), and the
image reader works through the backlog of a real capture with nothing asked of the watcher."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from samizdat.config import FetchSettings, ImageSettings, Settings
from samizdat.watch.background import Background, Step
from tests.helpers import missing

pytestmark = pytest.mark.slow

BURN_SECONDS = 0.2


@contextmanager
def burning(settings: Settings) -> Iterator[Step]:
    """A chore whose every step is ``BURN_SECONDS`` of pure CPU."""

    def step() -> int:
        until = time.process_time() + BURN_SECONDS
        while time.process_time() < until:
            pass
        return 1

    yield step


def _cpu_and_nice(pid: int) -> tuple[float, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, int(fields[16])  # utime + stime; nice


@pytest.mark.parametrize("share", [0.25, 0.5])
def test_a_chore_uses_at_most_its_share_of_a_core_at_a_lower_priority(tmp_path, share):
    chore = Background("burn", burning, Settings(data_dir=tmp_path), share=share, niceness=10)
    chore.start()
    try:
        # The child's interpreter starting and importing (seconds on a busy machine) is not the
        # chore's work: the measure starts after its first step.
        deadline = time.monotonic() + 60
        while chore.done == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        cpu_before, nice = _cpu_and_nice(chore.pid)
        done_before, started = chore.done, time.monotonic()
        time.sleep(6.0)
        cpu_after, _ = _cpu_and_nice(chore.pid)
        done_after, wall = chore.done, time.monotonic() - started
    finally:
        chore.stop()
    used = (cpu_after - cpu_before) / wall
    assert nice == os.nice(0) + 10
    # It works, within its share. (How much less it gets depends on what else runs: at nice 10 a
    # busy machine gives it little, and then its rests are short, as the step used little CPU.)
    assert done_after > done_before
    assert used <= share * 1.15 + 0.02, f"{used:.2f} of a core for a share of {share}"


def test_a_chore_killed_while_it_rests_does_not_hold_up_the_watcher_s_stop(tmp_path):
    """A SIGTERM to the whole process group (``systemctl stop``, ``timeout``) kills the chore's
    process as well, mid-rest. Told to stop through a ``multiprocessing.Event``, the watcher then
    waited for ever for the dead sleeper to wake (seen: ``samizdat watch`` still running ten
    minutes after ``timeout`` sent its SIGTERM)."""
    chore = Background("burn", burning, Settings(data_dir=tmp_path), share=0.05)
    chore.start()
    deadline = time.monotonic() + 60
    while chore.done < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert chore.done >= 1, "the chore's process never made a step"
    time.sleep(0.3)  # a step of 0.2 s at 5 % of a core rests almost 4 s: it is asleep now
    os.kill(chore.pid, signal.SIGTERM)
    stopping = threading.Thread(target=chore.stop, daemon=True)
    started = time.monotonic()
    stopping.start()
    stopping.join(10)
    assert not stopping.is_alive(), "stop() waits on a process that died"
    assert time.monotonic() - started < 3


def test_the_watcher_s_image_reader_reads_the_backlog_of_new_captures(tmp_path, simulator):
    """``images.read``: the watcher's reader process reads what captures archived — hashes and
    text — at nice 10, with the watcher asked for nothing. Pictures: testing/pictures.py."""
    from importlib.util import find_spec

    from typer.testing import CliRunner

    from samizdat.cli import app
    from samizdat.store import open_archive
    from samizdat.watch.pictures import reading_process

    settings = Settings(
        data_dir=tmp_path / "data",
        fetch=FetchSettings(allow_private_networks=True),
        images=ImageSettings(cpu_share=1.0),
    )
    config = tmp_path / "samizdat.toml"
    config.write_text(f'data_dir = "{settings.data_dir}"\n[fetch]\nallow_private_networks = true\n')
    if find_spec("rapidocr_onnxruntime") is None:
        missing("the OCR extra: pip install 'samizdat[ocr]'")
    captured = CliRunner().invoke(
        app, ["--config", str(config), "capture", simulator.base + "/news/pictures"]
    )
    assert captured.exit_code == 0, captured.output
    reader = reading_process(settings)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while reader.done < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        _, nice = _cpu_and_nice(reader.pid)
    finally:
        reader.stop()
    assert reader.done == 4 and nice == os.nice(0) + 10
    store = open_archive(settings)
    try:
        assert store.backlog(text=True) == 0
        article = store.article_id_for_url(simulator.base + "/news/pictures")
        texts = [p.facts.ocr_text for p in store.images_elsewhere(article) if p.facts and p.facts.ocr_text]
    finally:
        store.engine.dispose()
    assert len(texts) == 1 and "维尔纽斯" in texts[0]
