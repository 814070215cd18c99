"""The local HighLevel webhook key pair of `make dev` and `make ghl-webhook`.

HighLevel signs its deliveries with a private key only it holds, so locally we sign with our own:
an Ed25519 key pair generated once into .local/ghl-webhook-ed25519.pem (gitignored, never a
secret of any deployment). `public` prints the base64 SPKI that `GHL_WEBHOOK_PUBLIC_KEY` takes;
`sign BODY_FILE` prints the base64 signature of the file's exact bytes (the X-GHL-Signature).

Uses the `cryptography` package of the venv (a dependency of moto).
"""
import base64
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY_PATH = os.path.join(ROOT, ".local", "ghl-webhook-ed25519.pem")


def create_key() -> None:
    """Writes a new key pair, atomically: several `make dev` may start at once on a fresh clone
    (the stop test runs two side by side), and each must read a whole key, the same one. The key is
    written to a file of this process, then linked into place; whoever links first wins."""
    os.makedirs(os.path.dirname(KEY_PATH), exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temp = f"{KEY_PATH}.{os.getpid()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        try:
            os.link(temp, KEY_PATH)
        except FileExistsError:
            pass  # another start won: use its key
    finally:
        os.remove(temp)


def private_key() -> Ed25519PrivateKey:
    if not os.path.exists(KEY_PATH):
        create_key()
    with open(KEY_PATH, "rb") as pem:
        key = serialization.load_pem_private_key(pem.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        sys.exit(f"ghl_webhook_key: {KEY_PATH} is not an Ed25519 key")
    return key


def main() -> None:
    if sys.argv[1:] == ["public"]:
        spki = private_key().public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        print(base64.b64encode(spki).decode())
    elif len(sys.argv) == 3 and sys.argv[1] == "sign":
        with open(sys.argv[2], "rb") as body:
            print(base64.b64encode(private_key().sign(body.read())).decode())
    else:
        sys.exit("usage: ghl_webhook_key.py public | sign BODY_FILE")


if __name__ == "__main__":
    main()
