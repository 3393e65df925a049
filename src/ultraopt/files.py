"""Writing a file so that a failed write (a full disk, a lost permission) leaves the file that was there whole.

The text goes to a temporary file beside the target, which then replaces it in one ``os.replace``: a reader sees
the old file or the new one, never half of one. Saved results, reports and exports are written this way.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_text_atomically"]

# The permission bits a newly created file gets (mkstemp's are 0600): the process's umask applied to 0666.
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_text_atomically(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path``, replacing it only once all of it is written.

    Raises
    ------
    OSError
        When the text cannot be written (the earlier file at ``path``, if any, is left as it was).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))
    if not path.parent.is_dir():  # else the error names the temporary file, not the path the caller gave
        raise FileNotFoundError(2, f"the directory {path.parent} does not exist", str(path))
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
