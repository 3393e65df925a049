"""The name server of a run: Pyro5's own, bound to loopback by default and closed to clients without the secret.

Workers register in it under ``ultraopt.<run_id>.worker.<name>``, the dispatcher under
``ultraopt.<run_id>.dispatcher``; they find each other there.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

from Pyro5 import core, errors
from Pyro5.nameserver import NameServerDaemon

from ultraopt.async_comm.credentials import (
    Credentials,
    check_run_id,
    credentials_path,
    publish_local,
    read_credentials,
    withdraw_local,
    write_credentials,
)
from ultraopt.async_comm.run_lock import LockHeld, RunLock
from ultraopt.async_comm.security import SecureDaemonMixin, SharedProxy, new_secret

__all__ = ["LIVENESS_TIMEOUT", "NameServer", "dispatcher_name", "nameserver_proxy", "nic_name_to_host", "worker_prefix"]

logger = logging.getLogger(__name__)

#: Address servers bind to unless told otherwise.
LOOPBACK = "127.0.0.1"
#: Seconds to wait for a server of a run found registered (a name server in the credentials file, a dispatcher in
#: the name server) to answer before taking it for dead.
LIVENESS_TIMEOUT = 3.0


def worker_prefix(run_id: str) -> str:
    """Name-server prefix of the workers of ``run_id``."""
    return f"ultraopt.{run_id}.worker."


def dispatcher_name(run_id: str) -> str:
    """Name-server name of the dispatcher of ``run_id``."""
    return f"ultraopt.{run_id}.dispatcher"


def nameserver_proxy(credentials: Credentials, timeout: float | None = 10.0) -> SharedProxy:
    """A proxy to the name server described by ``credentials``."""
    return SharedProxy(
        f"PYRO:{core.NAMESERVER_NAME}@{credentials.host}:{credentials.port}", credentials.secret, timeout=timeout
    )


def nic_name_to_host(nic_name: str) -> str:
    """The IPv4 address of the network interface ``nic_name`` (such as ``"eth0"``), to bind servers to.

    Uses psutil when it is installed, the standard library (Linux ``ioctl``) otherwise.

    Raises
    ------
    ValueError
        When there is no such interface or it has no IPv4 address; the message lists the interfaces.
    """
    try:
        import psutil
    except ImportError:
        return _nic_address_stdlib(nic_name)
    addresses = psutil.net_if_addrs()
    if nic_name not in addresses:
        raise ValueError(f"no network interface {nic_name!r}; interfaces: {sorted(addresses)}")
    for address in addresses[nic_name]:
        if address.family == socket.AF_INET:
            return str(address.address)
    raise ValueError(f"network interface {nic_name!r} has no IPv4 address; interfaces: {sorted(addresses)}")


def _nic_address_stdlib(nic_name: str) -> str:
    names = sorted(name for _, name in socket.if_nameindex())
    if nic_name not in names:
        raise ValueError(f"no network interface {nic_name!r}; interfaces: {names}")
    try:
        import fcntl
        import struct

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            siocgifaddr = 0x8915
            packed = fcntl.ioctl(sock.fileno(), siocgifaddr, struct.pack("256s", nic_name[:15].encode()))
        return socket.inet_ntoa(packed[20:24])
    except (ImportError, OSError) as exc:
        raise ValueError(f"cannot read the IPv4 address of {nic_name!r} ({exc}); install psutil or pass host") from exc


class _SecureNameServerDaemon(SecureDaemonMixin, NameServerDaemon):
    def __init__(self, host: str, port: int, secret: str):
        self._init_security(secret)
        super().__init__(host=host, port=port)


class NameServer:
    """The phone book of a run, in a thread of this process.

    Parameters
    ----------
    run_id : str
        Identifies the run; workers and the master of the run use the same one.
    working_directory : str, optional
        Where to write the credentials file (host, port and secret, as JSON readable by the owner only) for workers
        on a shared filesystem; ``None`` writes none. A file whose name server still answers belongs to a running
        run (a second master of it): :meth:`start` refuses and leaves it alone; one whose server is gone is
        replaced.
    host : str, optional
        Address to bind to; ``127.0.0.1`` by default, so that only this machine can connect.
    port : int
        0 (or ``None``) for a free port.
    nic_name : str, optional
        Bind to this network interface's address (when ``host`` is not given), e.g. ``"eth0"`` on a cluster.
    secret : str, optional
        The run's secret; a new random one by default (see :attr:`secret`).

    Attributes
    ----------
    secret : str
        What every party of the run must prove to hold before the name server, the dispatcher or a worker serves it.
    """

    def __init__(
        self,
        run_id: str,
        working_directory: str | os.PathLike[str] | None = None,
        host: str | None = None,
        port: int | None = 0,
        nic_name: str | None = None,
        *,
        secret: str | None = None,
    ):
        self.run_id = check_run_id(str(run_id))  # now, not when start() writes the credentials file
        self.working_directory = working_directory
        self.host = host
        self.port = port or 0
        self.nic_name = nic_name
        self.secret = secret or new_secret()
        self.credentials: Credentials | None = None
        self._daemon: _SecureNameServerDaemon | None = None
        self._thread: threading.Thread | None = None
        self._credentials_file: Path | None = None
        self._run_lock: RunLock | None = None

    def start(self) -> tuple[str, int]:
        """Start serving in a daemon thread; returns ``(host, port)``.

        Writes the credentials file when a working directory was given.

        Raises
        ------
        RuntimeError
            When it is running already, when another process of this machine serves the run's working directory
            (even one that is stopped and does not answer), or when the credentials file of the run names a name
            server that answers.
        """
        if self._daemon is not None:
            raise RuntimeError(f"the name server of run {self.run_id!r} is already running")
        if self.working_directory is not None:
            self._lock_run()
            try:
                if (other := self._live_nameserver()) is not None:
                    raise RuntimeError(
                        f"run {self.run_id!r} already has a name server that answers, at {other.host}:{other.port} "
                        f"(see {credentials_path(self.working_directory, self.run_id)}): a master or `ultraopt "
                        "nameserver` serves it; stop that one, or give this run another run_id or working directory"
                    )
                return self._serve()
            except BaseException:
                self._unlock_run()
                raise
        return self._serve()

    def _serve(self) -> tuple[str, int]:
        host = self.host or (nic_name_to_host(self.nic_name) if self.nic_name else LOOPBACK)
        self._daemon = _SecureNameServerDaemon(host, self.port, self.secret)
        port = int(self._daemon.sock.getsockname()[1])
        self.credentials = Credentials(self.run_id, host, port, self.secret)
        self._thread = threading.Thread(
            target=self._daemon.requestLoop, name=f"ultraopt-nameserver-{self.run_id}", daemon=True
        )
        self._thread.start()
        publish_local(self.credentials)
        if self.working_directory is not None:
            self._credentials_file = credentials_path(self.working_directory, self.run_id)
            write_credentials(self._credentials_file, self.credentials)
        logger.info("name server of run %r on %s:%d", self.run_id, host, port)
        return host, port

    def _lock_run(self) -> None:
        """Hold the run's lock file for as long as this name server serves: a second one that took over the
        credentials file of one that is only stopped (see :mod:`~ultraopt.async_comm.run_lock`) would strand its
        workers when it comes back."""
        assert self.working_directory is not None
        lock = RunLock(credentials_path(self.working_directory, self.run_id).with_suffix(".lock"))
        try:
            lock.acquire()
        except LockHeld as held:
            raise RuntimeError(
                f"run {self.run_id!r} already has a name server in process {held.holder} of this machine (it holds "
                f"{held.path}), which may be stopped or busy rather than dead: stop that process, or give this run "
                "another run_id or working directory"
            ) from None
        self._run_lock = lock

    def _unlock_run(self) -> None:
        if self._run_lock is not None:
            self._run_lock.release()
            self._run_lock = None

    def _live_nameserver(self) -> Credentials | None:
        """The credentials in the run's credentials file if their name server answers (a killed master's does not)."""
        assert self.working_directory is not None
        try:
            credentials = read_credentials(self.working_directory, self.run_id)
        except (OSError, ValueError):
            return None
        proxy = nameserver_proxy(credentials, timeout=LIVENESS_TIMEOUT)
        try:
            proxy.call("ping")
        except errors.PyroError:  # nothing there, or a server that is not the run's
            return None
        finally:
            proxy.close()
        return credentials

    def shutdown(self) -> None:
        """Stop serving and remove the credentials file if it is still ours; harmless when not running."""
        if self._credentials_file is not None:
            try:
                ours = read_credentials(self._credentials_file.parent, self.run_id) == self.credentials
            except (OSError, ValueError):
                ours = False
            if ours:  # another name server of the run may have replaced it since: that one is not ours to remove
                self._credentials_file.unlink(missing_ok=True)
            self._credentials_file = None
        self._unlock_run()
        if self._daemon is None:
            return
        withdraw_local(self.run_id)
        self._daemon.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._daemon = self._thread = None
        logger.info("name server of run %r stopped", self.run_id)

    def __enter__(self) -> NameServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
