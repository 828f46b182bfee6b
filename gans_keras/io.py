"""Atomic, durable file writes: a reader never sees a half-written file, a failed write leaves the
previous file in place, and a written file is on disk before its name points at it (a power
cut cannot leave an empty newest checkpoint)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yields a temporary path beside `path` (same suffix); renames it over `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    # mkstemp makes the file private (0600); give it the mode a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        _fsync(tmp)  # the data reaches the disk before the new name does
        os.replace(tmp, path)
        _fsync(path.parent)  # and the rename itself
    except OSError as error:
        if error.errno is None or error.filename == str(path):
            raise
        # Name the file meant, not the temporary (or no file, for a failed write to an open one).
        raise OSError(error.errno, error.strerror, str(path)) from error
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# What a write to a full, read-only or forbidden place raises (EFBIG: past the process's file size
# limit; ENOTDIR: a path through a file).
WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG,
                          errno.ENOTDIR})

# The temporary files atomic_path makes: "." + the target's stem + "-" + mkstemp's 8 random
# characters + the target's suffix.
TEMPORARY = re.compile(r"^\..+-[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$")


def _fsync(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_writable(directory: str | os.PathLike) -> None:
    """Raises what writing in `directory` would (a read-only, forbidden or full place, a file in
    the path), before any work is done; makes nothing: a directory yet to be made is checked
    where it would be made."""
    place = Path(directory).absolute()
    while not place.exists():
        place = place.parent
    if not place.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(place))
    with tempfile.TemporaryFile(dir=place) as probe:
        probe.write(b"0")
        probe.flush()


def temporaries(directory: str | os.PathLike) -> list[Path]:
    """The temporary files of atomic writes in `directory`: in progress, or left by a killed process."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return [path for path in directory.iterdir() if path.is_file() and TEMPORARY.match(path.name)]


def remove_stray_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Deletes the temporary files an interrupted atomic write left in `directory` (a killed
    process never reaches its cleanup); returns them."""
    stray = temporaries(directory)
    for path in stray:
        path.unlink()
    return stray


def write_json(path: str | os.PathLike, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
