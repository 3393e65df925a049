"""Where the parties of a run find the name server and the run's secret.

A :class:`~ultraopt.async_comm.nameserver.NameServer` publishes its :class:`Credentials` twice: in this process
(so that workers and masters started here need nothing but the run id) and, with a working directory, in a JSON
file readable only by its owner, for workers on a shared filesystem. Anything else comes from explicit
arguments or the ``ULTRAOPT_SECRET`` environment variable.

Beside it, a master that stops the run's workers leaves a *stopped* file with the time (:func:`mark_stopped`): a
worker that served the run but was cut off then (its master was killed, and the master that finished the run
came and went before the worker found it) reads it and stops, rather than waiting for a master forever.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "Credentials", "changed_credentials", "check_run_id", "clear_stopped", "credentials_path", "mark_stopped",
    "read_credentials", "resolve_credentials", "stopped_at", "write_credentials",
]

#: Environment variable holding the run's secret, for workers started by hand or by a cluster scheduler.
SECRET_ENV = "ULTRAOPT_SECRET"
_FORMAT = 1


@dataclass(frozen=True)
class Credentials:
    """How to reach the name server of a run, and the run's secret."""

    run_id: str
    host: str
    port: int
    secret: str


_local: dict[str, Credentials] = {}
_local_lock = threading.Lock()


def publish_local(credentials: Credentials) -> None:
    """Make ``credentials`` known to parties started in this process."""
    with _local_lock:
        _local[credentials.run_id] = credentials


def withdraw_local(run_id: str) -> None:
    """Forget what :func:`publish_local` made known."""
    with _local_lock:
        _local.pop(run_id, None)


def check_run_id(run_id: str) -> str:
    """``run_id`` itself, if it can name the run's files.

    Raises
    ------
    ValueError
        When ``run_id`` is empty, ``.`` or ``..``, or holds a path separator: it goes into the name of the
        credentials file, which a separator would put outside the working directory.
    """
    if run_id in ("", ".", "..") or "/" in run_id or "\\" in run_id:
        raise ValueError(f"run_id must be a non-empty name without '/' or '\\' and other than '.' and '..', "
                         f"got {run_id!r}")
    return run_id


def credentials_path(working_directory: str | os.PathLike[str], run_id: str) -> Path:
    """The credentials file of run ``run_id`` in ``working_directory`` (see :func:`check_run_id`)."""
    check_run_id(run_id)
    return Path(working_directory) / f"ultraopt_run_{run_id}_credentials.json"


def write_credentials(path: Path, credentials: Credentials) -> None:
    """Write ``credentials`` as JSON, readable by the owner only, atomically (readers never see half a file)."""
    _write_json(path, {"format": _FORMAT, **asdict(credentials)})


def _write_json(path: Path, data: dict[str, object]) -> None:
    """Write ``data`` to ``path``, readable by the owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credentials-", suffix=".tmp")  # created with mode 0600
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(data, file)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stopped_path(working_directory: str | os.PathLike[str], run_id: str) -> Path:
    check_run_id(run_id)
    return Path(working_directory) / f"ultraopt_run_{run_id}_stopped.json"


def mark_stopped(working_directory: str | os.PathLike[str], run_id: str) -> None:
    """Record in ``working_directory`` that a master of ``run_id`` stopped the run's workers now."""
    _write_json(_stopped_path(working_directory, run_id), {"format": _FORMAT, "run_id": run_id, "time": time.time()})


def clear_stopped(working_directory: str | os.PathLike[str], run_id: str) -> None:
    """Withdraw :func:`mark_stopped` (a new master of the run started: the workers it finds serve it)."""
    _stopped_path(working_directory, run_id).unlink(missing_ok=True)


def stopped_at(working_directory: str | os.PathLike[str], run_id: str) -> float | None:
    """When (``time.time()``) a master of ``run_id`` last stopped the run's workers, if it still says so."""
    try:
        data = json.loads(_stopped_path(working_directory, run_id).read_text())
        return float(data["time"]) if data.get("run_id") == run_id else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def read_credentials(
    working_directory: str | os.PathLike[str], run_id: str, num_tries: int = 1, interval: float = 1.0
) -> Credentials:
    """Read the credentials file of ``run_id``, looking ``num_tries`` times, ``interval`` seconds apart.

    Raises
    ------
    FileNotFoundError
        When the file did not appear.
    ValueError
        When the file is not a credentials file of this run.
    """
    path = credentials_path(working_directory, run_id)
    for attempt in range(max(num_tries, 1)):
        try:
            data = json.loads(path.read_text())
            break
        except FileNotFoundError:
            if attempt + 1 >= num_tries:
                raise FileNotFoundError(
                    f"no credentials of run {run_id!r} in {str(working_directory)!r} (looked for {path.name}); "
                    "is its name server running with this working directory?"
                ) from None
            time.sleep(interval)
    try:
        credentials = Credentials(str(data["run_id"]), str(data["host"]), int(data["port"]), str(data["secret"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} is not an ultraopt credentials file: {exc}") from None
    if credentials.run_id != run_id:
        raise ValueError(f"{path} holds the credentials of run {credentials.run_id!r}, not {run_id!r}")
    return credentials


def changed_credentials(
    working_directory: str | os.PathLike[str], run_id: str, current: Credentials | None
) -> Credentials | None:
    """The credentials file's credentials when they differ from ``current`` (a name server restarted without
    ``--port`` and secret wrote new ones); ``None`` when they do not, or when no readable file is there (yet)."""
    try:
        credentials = read_credentials(working_directory, run_id)
    except (OSError, ValueError):
        return None
    return None if credentials == current else credentials


def resolve_credentials(
    run_id: str,
    host: str | None = None,
    port: int | None = None,
    secret: str | None = None,
    working_directory: str | os.PathLike[str] | None = None,
) -> Credentials:
    """Complete what the caller gave from, in order: a name server of ``run_id`` started in this process, the
    credentials file in ``working_directory``, the ``ULTRAOPT_SECRET`` environment variable.

    Raises
    ------
    ValueError
        When the port or the secret cannot be found; the message says how to provide them.
    """
    with _local_lock:
        known = _local.get(run_id)
    if known is None and working_directory is not None and (port is None or secret is None):
        try:
            known = read_credentials(working_directory, run_id)
        except FileNotFoundError:
            known = None
    if known is not None:
        host = host if host is not None else known.host
        port = port if port is not None else known.port
        secret = secret if secret is not None else known.secret
    secret = secret if secret is not None else os.environ.get(SECRET_ENV) or None
    missing = [name for name, value in (("nameserver_port", port), ("secret", secret)) if value is None]
    if missing:
        raise ValueError(
            f"run {run_id!r}: no {' and no '.join(missing)} given and no name server of this run found in this "
            f"process{'' if working_directory is None else f' or in {str(working_directory)!r}'}; start the run's "
            f"name server (`ultraopt nameserver --run-id {run_id} --working-directory DIR`) and give DIR "
            f"(working_directory= of a Master or Dispatcher, Worker.load_nameserver_credentials(DIR)), or pass "
            f"nameserver_port= and secret= (or set {SECRET_ENV})"
        )
    return Credentials(run_id, host or "127.0.0.1", int(port), str(secret))  # type: ignore[arg-type]
