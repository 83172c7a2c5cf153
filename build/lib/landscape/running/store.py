"""Result stores that hold data, never code: signed JSON entries in files or Redis.

An entry is ``MAGIC + hex HMAC-SHA256 + "\\n" + JSON``. The HMAC is keyed by the
deployment's secret key and covers the cache key (result kind, engine version, hash of
the canonical config), the canonical config itself, the engine version and the JSON
payload. Whoever can write to the cache directory or to Redis but does not know the
secret key cannot make the app show a number it did not compute, and nothing read from
a store is ever unpickled: an entry that fails the check is a cache miss.

A store has ``get(key) -> bytes or None``, ``set(key, bytes)`` and ``secret`` (bytes).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile

from ..version import ENGINE_VERSION

MAGIC = b"landscape-result-1\n"
# No result of the dashboard's limits comes near this; a larger entry is not read.
MAX_ENTRY_BYTES = 256 << 20
REDIS_ENTRY_SECONDS = 30 * 24 * 3600
# A store without its own secret (tests, an in-memory dict) signs with one that lives
# only as long as this process: entries cannot outlive it or come from elsewhere.
PROCESS_SECRET = secrets.token_bytes(32)


class BadEntry(ValueError):
    """A stored entry that is not one this deployment wrote for this key."""


def canonical(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(value):
    """JSON for numpy scalars and arrays (``tolist`` gives plain Python numbers)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _mac(secret, key, config_text, payload_text):
    message = b"\0".join([key.encode(), config_text.encode(), ENGINE_VERSION.encode(),
                          payload_text.encode()])
    return hmac.new(secret, message, hashlib.sha256).hexdigest().encode()


def secret_of(store):
    secret = getattr(store, "secret", None)
    if not secret:
        return PROCESS_SECRET
    return secret if isinstance(secret, bytes) else str(secret).encode()


def encode_entry(secret, key, config, value):
    """Bytes to store for ``value`` (a JSON-able dict) under ``key``."""
    payload_text = canonical(value)
    return MAGIC + _mac(secret, key, canonical(config), payload_text) + b"\n" \
        + payload_text.encode()


def decode_entry(secret, key, config, blob):
    """The dict stored in ``blob``; raises BadEntry unless it is intact and signed with
    ``secret`` for this key and config."""
    if not isinstance(blob, (bytes, bytearray)) or not blob.startswith(MAGIC):
        raise BadEntry("not a signed result entry")
    mac, newline, payload = bytes(blob[len(MAGIC):]).partition(b"\n")
    if not newline:
        raise BadEntry("truncated entry")
    try:
        payload_text = payload.decode()
    except UnicodeDecodeError:
        raise BadEntry("entry is not UTF-8") from None
    expected = _mac(secret, key, canonical(config), payload_text)
    if not hmac.compare_digest(mac, expected):
        raise BadEntry("signature does not match (edited, or written with another key)")
    try:
        value = json.loads(payload_text)
    except (ValueError, RecursionError) as exc:
        raise BadEntry(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise BadEntry("not a JSON object")
    return value


class FileStore:
    """Entries as files in one directory (the single-machine deployment).

    Files are written to a temporary name and renamed, so that a reader never sees half
    an entry; only regular files are read (no links, FIFOs or devices), with a bound on
    their size. Beyond ``threshold`` entries the oldest tenth is removed.
    """

    def __init__(self, directory, secret=None, threshold=2000):
        self.directory = directory
        self.secret = secret
        self.threshold = threshold

    def _path(self, key):
        return os.path.join(self.directory, hashlib.sha256(key.encode()).hexdigest())

    def get(self, key):
        try:
            fd = os.open(self._path(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise BadEntry("not a regular file")
            data = handle.read(MAX_ENTRY_BYTES + 1)
        if len(data) > MAX_ENTRY_BYTES:
            raise BadEntry(f"larger than {MAX_ENTRY_BYTES} bytes")
        return data

    def set(self, key, value):
        os.makedirs(self.directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(value)
            os.replace(temporary, self._path(key))
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
        self._prune()

    def _prune(self):
        try:
            names = [n for n in os.listdir(self.directory) if not n.startswith(".")]
            if len(names) <= self.threshold:
                return
            paths = [os.path.join(self.directory, n) for n in names]
            paths.sort(key=lambda p: os.stat(p).st_mtime)
            for path in paths[:max(1, len(paths) // 10)]:
                os.unlink(path)
        except OSError:       # another process pruned at the same time
            pass


class RedisStore:
    """Entries as Redis strings with an expiry (so that Redis's volatile-lru policy
    evicts them, never the task queue). Every wait is bounded by a few seconds."""

    def __init__(self, url, secret=None, seconds=REDIS_ENTRY_SECONDS):
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
        self.secret = secret
        self.seconds = seconds

    def get(self, key):
        return self.client.get(key)

    def set(self, key, value):
        self.client.set(key, value, ex=self.seconds)
