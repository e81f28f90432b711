"""Whole-file WARC checks, the repair of a torn tail, and a full disk."""

import os
import shutil
import subprocess
import sys
import textwrap

from samizdat.archive import RecordFactory, WarcWriter
from samizdat.archive.integrity import repair_torn_tails, scan_file, writer_gone
from samizdat.archive.storage import WRITING
from tests.test_archive import exchange


def written(tmp_path, count=5):
    writer = WarcWriter(tmp_path)
    refs = []
    for i in range(count):
        refs += writer.append(RecordFactory().exchange_records(exchange(os.urandom(2000), f"https://x/{i}")))
    return writer, refs


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_whole_file_scans_clean_and_a_changed_byte_is_found(tmp_path):
    writer, refs = written(tmp_path)
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    scan = scan_file(path)
    assert (scan.records, scan.problems, scan.torn_tail) == (11, [], False)  # warcinfo + 5 x 2
    assert not (tmp_path / WRITING / path.name).exists()  # sealed: no longer marked
    data = bytearray(path.read_bytes())
    data[refs[4].offset + refs[4].length // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert scan_file(path).problems


def test_a_torn_tail_left_by_a_dead_writer_is_cut_and_nothing_else(tmp_path):
    writer, refs = written(tmp_path)
    (path,) = tmp_path.glob("*.warc.gz")
    assert (tmp_path / WRITING / path.name).exists()  # still being written
    # Another writer (dead now) whose file ends in half a record; and a live one (this process).
    dead_name = path.name.replace(f"-{os.getpid()}-", f"-{dead_pid()}-")
    shutil.copy(path, tmp_path / dead_name)
    whole = (tmp_path / dead_name).stat().st_size
    member = (tmp_path / dead_name).read_bytes()[refs[0].offset : refs[0].offset + refs[0].length]
    with open(tmp_path / dead_name, "ab") as torn:
        torn.write(member[: len(member) // 2])
    (tmp_path / WRITING / dead_name).touch()
    assert writer_gone(dead_name) and not writer_gone(path.name)
    assert scan_file(tmp_path / dead_name).torn_tail

    assert repair_torn_tails(tmp_path) == [(dead_name, len(member) // 2)]
    assert (tmp_path / dead_name).stat().st_size == whole and not scan_file(tmp_path / dead_name).problems
    assert not (tmp_path / WRITING / dead_name).exists()
    assert (tmp_path / WRITING / path.name).exists()  # the live writer's file is not touched
    assert repair_torn_tails(tmp_path) == []
    writer.close()


def test_a_full_disk_fails_the_batch_whole_and_writing_resumes_when_space_returns(tmp_path):
    """The file size limit (RLIMIT_FSIZE) stands in for a full disk, in a child process."""
    script = textwrap.dedent(
        f"""
        import os, resource, signal, sys
        sys.path[:0] = {sys.path!r}
        from pathlib import Path
        from samizdat.archive import ArchiveWriteError, RecordFactory, WarcWriter
        from tests.test_archive import exchange
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        writer = WarcWriter(Path({str(tmp_path)!r}))
        kept = writer.append(RecordFactory().exchange_records(exchange(b"a" * 1000, "https://x/0")))
        (path,) = Path({str(tmp_path)!r}).glob("*.warc.gz")
        size = path.stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 3000, resource.RLIM_INFINITY))
        try:
            writer.append(RecordFactory().exchange_records(exchange(os.urandom(20000), "https://x/1")))
            print("no error")
        except ArchiveWriteError as exc:
            print("refused:", exc)
        print("size unchanged:", path.stat().st_size == size)
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        after = writer.append(RecordFactory().exchange_records(exchange(os.urandom(20000), "https://x/2")))
        writer.close()
        print("resumed at", after[0].offset == size)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "refused: could not write to the archive" in run.stdout and "File too large" in run.stdout
    assert "size unchanged: True" in run.stdout and "resumed at True" in run.stdout
    (path,) = tmp_path.glob("*.warc.gz")
    scan = scan_file(path)
    assert (scan.records, scan.problems) == (5, [])  # warcinfo, two exchanges of two records
