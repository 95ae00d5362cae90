"""The command line's own output failing: a reader that stops early, a full disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import app_env, interrupt_cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def many_members(tmp_path) -> Path:
    """A preview of these prints far more than a pipe holds (about 140 KB a round)."""
    path = tmp_path / "members.csv"
    rows = [f"U{i:05d},{i % 9 + 1}" for i in range(3000)]
    path.write_text("user_id,level\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_reader_that_stops_early_ends_the_command_quietly(many_members, tmp_path):
    """`… | head`: the reader has what it wanted; no traceback, no message, the exit code
    of a process stopped by SIGPIPE."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "preview", "--members", str(many_members), "--rounds", "3"],
        env=app_env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout.readline().startswith(b"Round 1")
        process.stdout.close()
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert err == b""
    assert process.returncode == 128 + signal.SIGPIPE


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("size", ["small", "large"])
def test_a_full_disk_is_one_line_that_says_so(many_members, tmp_path, size):
    """Small output fails only when it is flushed at the end; large output while written."""
    members = many_members if size == "large" else ROOT / "examples" / "members.csv"
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "preview", "--members", str(members)],
            env=app_env(), cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr == (
        "error: cannot write the output (No space left on device): free some space, or send "
        "it somewhere else\n"
    )


def test_ctrl_c_while_the_commands_load_ends_quietly(tmp_path, many_members):
    """Loading every command's modules takes a second or two on a busy machine: Ctrl-C then
    (or, on a fast one, in the preview that follows) ends with 130 and no traceback."""
    start = time.monotonic()
    code, err = interrupt_cli(
        "preview", "--members", str(many_members), "--rounds", "50",
        env=app_env(), cwd=tmp_path, once=lambda: time.monotonic() > start + 0.3,
    )  # fmt: skip
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
