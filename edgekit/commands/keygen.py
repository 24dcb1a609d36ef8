"""edgekit keygen -o KEY: an Ed25519 key pair for signing bundles (KEY private, KEY.pub public)."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("keygen", help="make an Ed25519 key pair to sign bundles (needs edgekit[sign])",
                       description="Write a new Ed25519 private key to KEY (PEM, readable by you only) and its "
                                   "public key to KEY.pub. Sign with `edgekit bundle --sign KEY`; devices load "
                                   "with edgekit.load(DIR, trusted_keys=['KEY.pub']). Same as `openssl genpkey "
                                   "-algorithm ed25519 -out KEY` and `openssl pkey -in KEY -pubout -out KEY.pub`.")
    p.add_argument("-o", "--output", required=True, metavar="KEY", help="private key file to write (never replaced)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..runtime.signing import keygen

    private, public = keygen(args.output)
    print(f"wrote {private} (private: keep it secret) and {public} (public: give it to devices)")
    return 0
