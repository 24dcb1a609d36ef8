"""Ed25519 signatures over a bundle's checksum file (``edgekit.sha256``), which covers every file.

The ``cryptography`` package (the optional extra ``edgekit[sign]``) is imported only when a bundle is
signed or a signature is checked. Keys: ``edgekit keygen -o KEY`` or
``openssl genpkey -algorithm ed25519 -out KEY`` and ``openssl pkey -in KEY -pubout -out KEY.pub``
(docs/bundle.md, "Signing").
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import DependencyError, InputError, ModelError

ALGORITHM = "ed25519"
SIGN_FIX = "install it with: pip install 'edgekit[sign]'"


def _crypto():
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:
        raise DependencyError("the cryptography package is not installed", f"signing bundles needs it ({exc})",
                              SIGN_FIX) from None
    return ed25519, serialization, InvalidSignature


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}", exc.strerror or str(exc), "check the path") from None


def private_key(key):
    """An Ed25519 private key from a PEM file path (PKCS#8, as openssl genpkey writes) or PEM bytes."""
    ed25519, serialization, _ = _crypto()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    data = key if isinstance(key, bytes) else _read(Path(key), "signing key")
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"signing key {key if not isinstance(key, bytes) else ''} is not an unencrypted PEM "
                         "private key", str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                         "make one with `edgekit keygen -o KEY`") from None
    if not isinstance(loaded, ed25519.Ed25519PrivateKey):
        raise InputError("the signing key is not an Ed25519 key", f"got {type(loaded).__name__}",
                         "make one with `edgekit keygen -o KEY` or `openssl genpkey -algorithm ed25519`")
    return loaded


def public_key(key):
    """An Ed25519 public key from a PEM file path, PEM bytes, 32 raw bytes or 64 hex digits."""
    ed25519, serialization, _ = _crypto()
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, str) and len(key) == 64 and all(c in "0123456789abcdefABCDEF" for c in key):
        key = bytes.fromhex(key)
    if isinstance(key, bytes) and len(key) == 32:
        return ed25519.Ed25519PublicKey.from_public_bytes(key)
    data = key if isinstance(key, bytes) else _read(Path(key), "trusted key")
    try:
        loaded = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError("a trusted key is not a PEM public key", str(exc).splitlines()[0] if str(exc) else
                         type(exc).__name__, "pass the KEY.pub file `edgekit keygen` wrote") from None
    if not isinstance(loaded, ed25519.Ed25519PublicKey):
        raise InputError("a trusted key is not an Ed25519 key", f"got {type(loaded).__name__}",
                         "pass the KEY.pub file `edgekit keygen` wrote")
    return loaded


def raw(pub) -> bytes:
    _, serialization, _ = _crypto()
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign(message: bytes, key) -> str:
    """The signature file's text for ``message`` (the checksum file's bytes) under private ``key``."""
    priv = private_key(key)
    return json.dumps({"algorithm": ALGORITHM, "public_key": raw(priv.public_key()).hex(),
                       "signature": priv.sign(message).hex()}, indent=2) + "\n"


def verify(message: bytes, signature_text: str | None, trusted_keys, where: str) -> bytes:
    """The raw public key that signed ``message``; ModelError unless one of ``trusted_keys`` did."""
    _, _, invalid = _crypto()
    keys = [public_key(k) for k in ([trusted_keys] if isinstance(trusted_keys, (str, bytes, os.PathLike))
                                    else list(trusted_keys))]
    if not keys:
        raise InputError("trusted_keys is empty", "a signature can be checked only against a key",
                         "pass the publisher's KEY.pub")
    if signature_text is None:
        raise ModelError(f"bundle {where} is not signed", "trusted keys were given, so a signature is required",
                         "ask for a signed bundle (edgekit bundle --sign KEY)")
    try:
        sig = json.loads(signature_text)
        if sig.get("algorithm") != ALGORITHM:
            raise ValueError(f"algorithm {sig.get('algorithm')!r}")
        signature = bytes.fromhex(sig["signature"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ModelError(f"bundle {where} has a malformed signature file", str(exc),
                         "rebuild and sign the bundle again") from None
    for pub in keys:
        try:
            pub.verify(signature, message)
            return raw(pub)
        except invalid:
            continue
    raise ModelError(f"bundle {where}: the signature does not verify with any trusted key", "the bundle was "
                     "changed after signing, or signed by another key", "get the bundle again from its publisher")


def keygen(path) -> tuple[Path, Path]:
    """Write a new Ed25519 private key to ``path`` (PEM, mode 0600) and its public key to ``path``.pub."""
    from .._io import check_output, write_bytes

    ed25519, serialization, _ = _crypto()
    priv_path, pub_path = Path(path), Path(str(path) + ".pub")
    for p in (priv_path, pub_path):
        check_output(p, "key file")
        if p.exists():
            raise InputError(f"key file {p} exists", "edgekit never overwrites a key", "choose another name")
    priv = ed25519.Ed25519PrivateKey.generate()
    pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    old = os.umask(0o077)  # the private key is readable by its owner only
    try:
        write_bytes(priv_path, pem)
    finally:
        os.umask(old)
    write_bytes(pub_path, priv.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))
    return priv_path, pub_path
