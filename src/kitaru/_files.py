"""What Kitaru creates on disk is private to its user.

A data directory holds flow arguments, checkpoint outputs and secrets (API keys
among them), so each directory Kitaru creates gets mode 0700 and each data file
(the SQLite store, artifact blobs, configuration) mode 0600. Directories and
files that exist already keep their mode: their owner may share them on
purpose (a group-readable team store, say).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp()) / "data" / "kitaru"
    >>> make_private_dirs(folder)
    >>> oct(folder.stat().st_mode & 0o777), oct(folder.parent.stat().st_mode & 0o777)
    ('0o700', '0o700')
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "create_private_file", "make_private_dirs"]

#: The mode of directories Kitaru creates: the user's only.
PRIVATE_DIR_MODE = 0o700
#: The mode of data files Kitaru creates: readable and writable by the user only.
PRIVATE_FILE_MODE = 0o600


def make_private_dirs(path: str | os.PathLike[str]) -> None:
    """Create the directory ``path`` and its missing parents, each with mode 0700.

    Directories that exist are left as they are.

    Raises:
        OSError: A directory could not be created (e.g. ``PermissionError``), or a part
            of ``path`` is a file (``FileExistsError``/``NotADirectoryError``).
    """
    folder = Path(path)
    try:
        os.mkdir(folder, PRIVATE_DIR_MODE)
    except FileNotFoundError:
        if folder.parent == folder:
            raise
        make_private_dirs(folder.parent)
        try:
            os.mkdir(folder, PRIVATE_DIR_MODE)
        except FileExistsError:  # another process created it meanwhile
            if not folder.is_dir():
                raise
    except FileExistsError:
        if not folder.is_dir():
            raise


def create_private_file(path: str | os.PathLike[str]) -> bool:
    """Create the empty file ``path`` with mode 0600 unless it exists; return whether it was created.

    Raises:
        OSError: The file could not be created (e.g. ``PermissionError``).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "kitaru.db"
        >>> create_private_file(path), create_private_file(path), oct(path.stat().st_mode & 0o777)
        (True, False, '0o600')
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True
