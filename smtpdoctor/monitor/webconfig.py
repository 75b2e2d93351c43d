"""TLS and basic auth on the listener, from Prometheus' exporter-toolkit web-config file.

    tls_server_config:
      cert_file: /etc/smtpdoctor/tls.crt
      key_file: /etc/smtpdoctor/tls.key
      client_auth_type: RequireAndVerifyClientCert   # optional
      client_ca_file: /etc/smtpdoctor/clients.pem    # optional
      min_version: TLS12                              # optional
    basic_auth_users:
      prometheus: $2y$10$...                          # bcrypt hash (htpasswd -nBC 10)

The same file Prometheus' own exporters take with --web.config.file, so one file and one
habit serve every exporter on a host.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from smtpdoctor.exitcodes import UsageError

_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_VERSIONS = {
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}


@dataclass(frozen=True)
class WebConfig:
    """What the web-config file asks for."""

    source: str
    cert_file: Path | None = None
    key_file: Path | None = None
    client_auth: ssl.VerifyMode = ssl.CERT_NONE
    client_ca_file: Path | None = None
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    users: dict[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server context, or None for plain HTTP."""
        if self.cert_file is None or self.key_file is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = self.min_version
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
            if self.client_ca_file is not None:
                context.load_verify_locations(cafile=str(self.client_ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"{self.source}: cannot load the TLS files: {exc}") from None
        context.verify_mode = self.client_auth
        return context


def load_web_config(path: Path) -> WebConfig:
    """Parse a web-config file; UsageError (file: why) for anything it cannot honour."""
    source = str(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise UsageError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{source}: expected a mapping at the top level")
    unknown = set(data) - {"tls_server_config", "basic_auth_users", "http_server_config"}
    if unknown:
        raise UsageError(f"{source}: unknown key(s): {', '.join(sorted(unknown))}")
    tls = data.get("tls_server_config") or {}
    users = data.get("basic_auth_users") or {}
    if not isinstance(tls, dict) or not isinstance(users, dict):
        raise UsageError(f"{source}: tls_server_config and basic_auth_users must be mappings")
    if bool(tls.get("cert_file")) != bool(tls.get("key_file")):
        raise UsageError(f"{source}: tls_server_config needs both cert_file and key_file")
    auth_type = tls.get("client_auth_type", "NoClientCert")
    if auth_type not in _CLIENT_AUTH:
        raise UsageError(
            f"{source}: client_auth_type {auth_type!r} is not supported "
            f"(one of {', '.join(_CLIENT_AUTH)})"
        )
    version = tls.get("min_version", "TLS12")
    if version not in _VERSIONS:
        raise UsageError(f"{source}: min_version {version!r}: one of {', '.join(_VERSIONS)}")
    hashes: dict[str, bytes] = {}
    for user, hashed in users.items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise UsageError(f"{source}: basic_auth_users.{user}: expected a bcrypt hash")
        hashes[str(user)] = hashed.encode()
    base = path.parent

    def resolve(value: Any) -> Path | None:
        return (base / str(value)) if value else None

    return WebConfig(
        source=source,
        cert_file=resolve(tls.get("cert_file")),
        key_file=resolve(tls.get("key_file")),
        client_auth=_CLIENT_AUTH[auth_type],
        client_ca_file=resolve(tls.get("client_ca_file")),
        min_version=_VERSIONS[version],
        users=hashes,
    )


class BasicAuth:
    """Checks Authorization headers against bcrypt hashes, remembering what passed: bcrypt
    costs tens of milliseconds by design, and Prometheus sends the same header every scrape."""

    def __init__(self, users: dict[str, bytes]):
        self.users = users
        self._good: set[bytes] = set()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """True when the file names any user."""
        return bool(self.users)

    def allows(self, header: str | None) -> bool:
        """True for a header carrying a known user and the right password."""
        if not self.enabled:
            return True
        credentials = _basic_credentials(header)
        if credentials is None:
            return False
        decoded, user, password = credentials
        hashed = self.users.get(user)
        if hashed is None:
            return False
        # the cache key includes the hash, so a changed file never honours an old password
        key = hashlib.sha256(hashed + b"\0" + decoded.encode()).digest()
        with self._lock:
            if key in self._good:
                return True
        if not bcrypt.checkpw(password.encode(), hashed):
            return False
        with self._lock:
            self._good.add(key)
        return True


def _basic_credentials(header: str | None) -> tuple[str, str, str] | None:
    """(user:password, user, password) of a Basic Authorization header; None if malformed."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return decoded, user, password
