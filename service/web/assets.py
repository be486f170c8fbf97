"""The desk's static files, served under a version that changes with their content.

``/static/<version>/<path>``: the version is a hash of every file, so a changed file
gets a new URL and browsers may keep each URL for good. The JavaScript modules import
each other by relative paths, which keep the version they were loaded with.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    content: bytes
    media_type: str


@dataclass(frozen=True)
class Assets:
    version: str
    files: dict[str, Asset]  # by path relative to the static folder, with "/"

    def url(self, path: str) -> str:
        if path not in self.files:
            raise KeyError(path)
        return f"/static/{self.version}/{path}"


@functools.cache
def assets() -> Assets:
    """The desk's static files, read once (they ship with the package and do not change)."""
    return load_assets(STATIC)


def load_assets(folder: Path) -> Assets:
    """The files under ``folder``, and a version that changes when any of them does."""
    files: dict[str, Asset] = {}
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        content = path.read_bytes()
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type.endswith("+xml"):
            media_type += "; charset=utf-8"
        files[name] = Asset(content, media_type)
        digest.update(name.encode() + b"\0" + content + b"\0")
    return Assets(version=digest.hexdigest()[:12], files=files)
