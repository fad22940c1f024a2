"""The wheel carries everything the code reads at run time (an editable install would hide
a missing template until a container or a user's install failed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).parent.parent
DATA = ("demo", "notify/templates", "web/templates", "web/static", "store/migrations")


def test_the_wheel_holds_every_data_file(tmp_path: Path) -> None:
    # Build from a clean copy: an in-tree build/ left by an earlier build would mask omissions.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
    )
    [wheel] = tmp_path.glob("watcher-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    package = Path(str(resources.files("watcher")))
    missing = [
        str(path.relative_to(package.parent))
        for folder in DATA
        for path in (package / folder).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and str(path.relative_to(package.parent)) not in packed
    ]
    assert missing == []
