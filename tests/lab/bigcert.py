"""A server certificate too big for one small packet: many names in its SAN list."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class BigCert:
    """PEM files: the chain (leaf first), its key, and the CA that signed it."""

    chain: Path
    key: Path
    ca: Path


def make_big_cert(directory: Path, names: int = 200) -> BigCert:
    """A leaf for s1.lab.test plus NAMES more SANs (about 20 bytes each), and its CA."""
    ca = trustme.CA()
    leaf = ca.issue_cert("s1.lab.test", *(f"alias{i:04d}.s1.lab.test" for i in range(names)))
    out = BigCert(directory / "chain.pem", directory / "key.pem", directory / "ca.pem")
    leaf.private_key_pem.write_to_path(str(out.key))
    with out.chain.open("wb") as f:
        for blob in leaf.cert_chain_pems:
            f.write(blob.bytes())
    ca.cert_pem.write_to_path(str(out.ca))
    return out
