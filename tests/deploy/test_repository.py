"""The repository as a newcomer clones it: no file left half-merged."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)


def test_no_tracked_file_holds_a_merge_conflict_marker():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    halves = []
    for name in files:
        path = ROOT / name
        if path.suffix in {".mo", ".png", ".svg", ".ico"} or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if MARKER.search(text):
            halves.append(name)
    assert halves == []
