"""Who may talk to the servers of a run: the secret handshake, and the settings of our daemons and proxies.

Every daemon of a run (name server, dispatcher, workers) refuses a connection unless the client proves in
Pyro5's connection handshake that it holds the run's secret; only then can it call anything — register a worker,
report a result, shut something down. The proof is an HMAC over a timestamp and a fresh nonce, so the secret
itself never crosses the network and a recorded handshake cannot be replayed; the daemon answers with its own
HMAC over the client's nonce, so that clients know they reached a server of their run (mutual authentication).

Everything crosses the wire as JSON (Pyro5's json serializer over the standard library's C-accelerated module,
about five times faster than serpent per message, which matters at hundreds of trials per second): configs and
results are plain JSON-able data. A client that opens a connection with a serializer other than json, serpent or
msgpack (that is, marshal) is refused before anything it sent is decoded. Pickle is never used on the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from Pyro5 import errors, serializers
from Pyro5.client import Proxy
from Pyro5.server import Daemon

__all__ = [
    "AUTHENTICATION_FAILED",
    "DEFAULT_TIMEOUT",
    "AuthenticatedProxy",
    "SecureDaemon",
    "SecureDaemonMixin",
    "SharedProxy",
    "new_secret",
    "wake",
]

logger = logging.getLogger(__name__)

#: The serializer of every proxy we create (the daemon answers each client in the client's serializer).
SERIALIZER = "json"
#: What a client may use (never marshal; Pyro5 has no pickle serializer).
_ALLOWED_SERIALIZER_IDS = frozenset(
    serializer.serializer_id
    for name, serializer in serializers.serializers.items()
    if name in ("serpent", "json", "msgpack")
)
#: Byte 7 of a Pyro5 message header holds the serializer id (format ``!4sHBB...``).
_SERIALIZER_BYTE = 7
#: Seconds a handshake timestamp may differ from the server's clock.
_MAX_CLOCK_SKEW = 300.0
#: How a daemon's refusal of a client without the run's secret begins (clients tell it from other failures).
AUTHENTICATION_FAILED = "authentication failed"
#: Seconds of a call on our proxies before it fails with a TimeoutError.
DEFAULT_TIMEOUT = 10.0
#: Seconds a new connection has to complete its handshake before the daemon closes it, so that idle connections
#: cannot hold the daemon's threads (a client of the run sends its handshake right after connecting).
HANDSHAKE_TIMEOUT = 5.0
#: ... and a connection that the daemon refuses anyway (no free thread): it waits that long for the client's
#: handshake, to answer why, in the thread that accepts connections.
_DENIAL_TIMEOUT = 0.2


def new_secret() -> str:
    """A fresh random secret for a run (64 hex digits)."""
    return secrets.token_hex(32)


def _mac(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "\x00".join(parts).encode(), hashlib.sha256).hexdigest()


def make_proof(secret: str) -> dict[str, str]:
    """What a client sends in the handshake: a timestamp, a fresh nonce and their HMAC."""
    stamp, nonce = f"{time.time():.3f}", secrets.token_hex(16)
    return {"time": stamp, "nonce": nonce, "mac": _mac(secret, "client", stamp, nonce)}


def server_proof(secret: str, nonce: str) -> str:
    """What the daemon answers: the HMAC of the client's nonce, showing that it holds the secret too."""
    return _mac(secret, "server", nonce)


def tune_socket(sock: socket.socket) -> None:
    """No Nagle delay for our small messages; TCP keepalive so that a vanished host breaks the connection in seconds.

    With keepalive probes after 1 s of silence, every 1 s, 3 unanswered probes close the connection: a worker whose
    machine died or dropped off the network is noticed within about 4 s even while it computes, because the probes
    are answered by the peer's kernel, not by its (possibly busy) Python code.
    """
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (("TCP_KEEPIDLE", 1), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    except OSError:  # a socket type without these options (e.g. a Unix socket): nothing to tune
        pass


class _NonceCache:
    """Nonces seen within the accepted clock skew, so that a recorded handshake cannot be replayed."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def fresh(self, nonce: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 1024:
                self._seen = {n: t for n, t in self._seen.items() if now - t < 2 * _MAX_CLOCK_SKEW}
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


class SecureDaemonMixin:
    """Makes a Pyro5 daemon refuse every client that does not prove it holds ``secret``.

    Mixed in before a :class:`Pyro5.server.Daemon` (sub)class; call :meth:`_init_security` before the daemon's own
    ``__init__``. ``on_disconnect(identity)`` is called when the connection of a client that announced an identity
    in its handshake closes (the dispatcher uses it to notice dead workers at once).
    """

    def _init_security(self, secret: str, on_disconnect: Callable[[str], None] | None = None) -> None:
        if not secret:
            raise ValueError("a daemon of a run needs the run's secret")
        self._secret = secret
        self._nonces = _NonceCache()
        self._identities: dict[Any, str] = {}
        self._on_disconnect = on_disconnect

    def use_secret(self, secret: str) -> None:
        """Serve the clients of ``secret`` from now on (the run's name server came back with a new one); open
        connections stay."""
        if not secret:
            raise ValueError("a daemon of a run needs the run's secret")
        self._secret = secret

    def _handshake(self, conn: Any, denied_reason: str | None = None) -> bool:
        # Without a deadline, a connection that never sends its handshake holds a thread of the daemon for good
        # (so a few hundred idle connections lock every client out); the timeout is lifted once it is through.
        timeout = conn.sock.gettimeout()
        deadline = time.monotonic() + (HANDSHAKE_TIMEOUT if denied_reason is None else _DENIAL_TIMEOUT)
        conn.sock.settimeout(deadline - time.monotonic())
        try:
            if denied_reason is None:
                serializer_id = _peek_serializer_id(conn.sock, deadline)
                if serializer_id is not None and serializer_id not in _ALLOWED_SERIALIZER_IDS:
                    denied_reason = "serializer not allowed"
                    logger.warning("refused a connection from %s: serializer id %d is not allowed",
                                   _peer(conn), serializer_id)
                conn.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            return bool(super()._handshake(conn, denied_reason))  # type: ignore[misc]
        finally:
            with contextlib.suppress(OSError):
                conn.sock.settimeout(timeout)

    def validateHandshake(self, conn: Any, data: Any) -> Any:  # noqa: N802 - Pyro5's name
        """Pyro5's hook for a new connection: accept it only if it proves it holds the run's secret (else
        ``Pyro5.errors.SecurityError``), and answer with this server's own proof."""
        nonce = self._verified_nonce(data.get("auth") if isinstance(data, dict) else None)
        if nonce is None:
            logger.warning("refused a connection from %s to %s: it did not prove it holds the run's secret",
                           _peer(conn), getattr(self, "locationStr", "?"))
            raise errors.SecurityError(f"{AUTHENTICATION_FAILED}: this server belongs to a run whose secret you lack")
        tune_socket(conn.sock)
        identity = data.get("identity")
        if isinstance(identity, str):
            self._identities[conn] = identity
        return {"auth": server_proof(self._secret, nonce)}

    def _verified_nonce(self, proof: Any) -> str | None:
        """The nonce of a valid, fresh, unused proof; ``None`` for anything else."""
        if not isinstance(proof, dict) or not all(isinstance(proof.get(key), str) for key in ("time", "nonce", "mac")):
            return None
        try:
            skew = abs(time.time() - float(proof["time"]))
        except ValueError:
            return None
        expected = _mac(self._secret, "client", proof["time"], proof["nonce"])
        valid = skew <= _MAX_CLOCK_SKEW and hmac.compare_digest(expected, proof["mac"])
        return proof["nonce"] if valid and self._nonces.fresh(proof["nonce"]) else None

    def clientDisconnect(self, conn: Any) -> None:  # noqa: N802 - Pyro5's name
        """Pyro5's hook for a closed connection: tell ``on_disconnect`` who it was (a worker that vanished)."""
        identity = self._identities.pop(conn, None)
        if identity is not None and self._on_disconnect is not None:
            self._on_disconnect(identity)


def _peer(conn: Any) -> str:
    try:
        host, port = conn.sock.getpeername()[:2]
        return f"{host}:{port}"
    except (OSError, ValueError):
        return "an unknown peer"


def _peek_serializer_id(sock: socket.socket, deadline: float) -> int | None:
    """The serializer id in the header of the first message waiting on ``sock``, without consuming it; ``None``
    when none came by ``deadline`` (a :func:`time.monotonic` time)."""
    flags = socket.MSG_PEEK | getattr(socket, "MSG_WAITALL", 0)
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)  # a blocking receive would otherwise wait for the header for good
            header = sock.recv(_SERIALIZER_BYTE + 1, flags)
            if len(header) > _SERIALIZER_BYTE:  # not a Pyro message at all (a wake-up): Pyro5 rejects it itself
                return header[_SERIALIZER_BYTE] if header.startswith(b"PYRO") else None
            if not header:
                return None  # closed: Pyro5's own handshake fails on it
            time.sleep(0.001)  # part of the header so far
    except OSError:  # the timeout included
        pass
    return None  # too slow: Pyro5's own handshake fails on it


class SecureDaemon(SecureDaemonMixin, Daemon):
    """A Pyro5 daemon that only serves clients holding the run's secret.

    Parameters
    ----------
    host : str
        Address to bind to (``127.0.0.1`` unless the user chose another interface).
    secret : str
        The run's secret.
    port : int
        0 for a free port.
    on_disconnect : callable, optional
        ``on_disconnect(identity)`` when an identified client's connection closes.
    """

    def __init__(self, host: str, secret: str, port: int = 0, on_disconnect: Callable[[str], None] | None = None):
        self._init_security(secret, on_disconnect)
        super().__init__(host=host, port=port)


def wake(daemon: Daemon | None) -> None:
    """Make a daemon's request loop check its loop condition now rather than at its next poll (up to 2 s)."""
    server = getattr(daemon, "transportServer", None)
    if server is not None:
        with contextlib.suppress(OSError):  # already closed
            server.wakeup()


class AuthenticatedProxy(Proxy):
    """A Pyro5 proxy that proves it holds the secret on every (re)connection, and checks the server's proof.

    Parameters
    ----------
    uri : str
        ``PYRO:object@host:port``.
    secret : str
        The run's secret.
    identity : str, optional
        Announced to the daemon; the dispatcher maps a worker's connection to the worker this way.
    timeout : float, optional
        Seconds before a call fails with :class:`Pyro5.errors.TimeoutError`.
    """

    def __init__(self, uri: Any, secret: str, identity: str | None = None, timeout: float | None = DEFAULT_TIMEOUT):
        object.__setattr__(self, "_auth_secret", secret)
        object.__setattr__(self, "_auth_identity", identity)
        object.__setattr__(self, "_auth_nonce", None)
        super().__init__(uri)
        self._pyroSerializer = SERIALIZER
        self._pyroTimeout = timeout

    # Pyro5 reads ``_pyroHandshake`` each time it connects: a fresh proof per connection.
    @property
    def _pyroHandshake(self) -> dict[str, Any]:  # type: ignore[override]
        proof = make_proof(self._auth_secret)
        object.__setattr__(self, "_auth_nonce", proof["nonce"])
        return {"auth": proof, "identity": self._auth_identity}

    @_pyroHandshake.setter
    def _pyroHandshake(self, value: Any) -> None:  # Proxy.__init__ sets a default; ours is computed
        pass

    def _pyroValidateHandshake(self, response: Any) -> None:  # noqa: N802 - Pyro5's name
        expected = server_proof(self._auth_secret, self._auth_nonce or "")
        if not (isinstance(response, dict) and hmac.compare_digest(str(response.get("auth")), expected)):
            self._pyroRelease()  # Pyro5 has kept the connection: drop it before refusing
            raise errors.SecurityError("the server did not prove it holds the run's secret")
        tune_socket(self._pyroConnection.sock)


class SharedProxy:
    """An :class:`AuthenticatedProxy` that several threads may use, one call at a time.

    Pyro5 proxies belong to one thread; this wrapper serialises the calls with a lock and moves the ownership to
    the calling thread, keeping one connection open across calls.
    """

    def __init__(self, uri: Any, secret: str, identity: str | None = None, timeout: float | None = DEFAULT_TIMEOUT):
        self.uri = str(uri)
        self._proxy = AuthenticatedProxy(uri, secret, identity, timeout)
        self._lock = threading.Lock()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` remotely; a broken connection raises and is re-opened by the next call."""
        with self._lock:
            self._proxy._pyroClaimOwnership()
            return getattr(self._proxy, method)(*args, **kwargs)

    def connect(self) -> None:
        """Open the connection now (it is otherwise opened by the first call)."""
        with self._lock:
            self._proxy._pyroClaimOwnership()
            self._proxy._pyroBind()

    def close(self, wait: float | None = None) -> None:
        """Close the connection (a later call opens a new one).

        ``wait``: seconds at most to wait for a call in flight (to a frozen server, it lasts until its timeout);
        after them the connection is left to that call, which closes it when it fails.
        """
        if not self._lock.acquire(timeout=-1 if wait is None else wait):
            return
        try:
            self._proxy._pyroClaimOwnership()
            self._proxy._pyroRelease()
        finally:
            self._lock.release()
