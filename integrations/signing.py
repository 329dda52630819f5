"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", in one header.

`Clinico-Signature: t=1767225600,v1=<hex>[,v1=<hex>]` — one `v1` per secret in use: after a
rotation, the new secret's signature first and the old one's until the overlap ends. Receivers
recompute the HMAC with their secret, accept the request when any `v1` matches, and refuse a
timestamp outside their replay window (README, "Webhooks").
"""

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Clinico-Signature"
SECRET_PREFIX = "whsec_"


def webhook_secret_new() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secrets_in_use: list[str], timestamp: int, body: bytes) -> str:
    """The header value signing `body` at `timestamp` with each secret in use."""
    parts = [f"t={timestamp}"]
    parts += [
        f"v1={signature_compute(secret=secret, timestamp=timestamp, body=body)}"
        for secret in secrets_in_use
    ]
    return ",".join(parts)


def signature_verify(
    *, secret: str, header: str, body: bytes, now: int, tolerance_seconds: int
) -> bool:
    """What a receiver does: a matching v1 of a timestamp within the replay window."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in fields if key == "t"]
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = signature_compute(secret=secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, value) for key, value in fields if key == "v1")
