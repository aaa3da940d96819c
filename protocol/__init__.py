"""LobbyKey protocol v1: every byte that crosses a wire (see SPEC.md).

Pure Python on top of `cryptography`, `cwt` and `cbor2`; no I/O, no clock, no globals.
Import the HTTP models from `protocol.api` (they need pydantic); the rest is here.
"""

from protocol.errors import (
    DecodeError,
    GrantError,
    KeyFormatError,
    ProtocolError,
    ReceiptError,
    TooLargeError,
    UnsupportedVersionError,
)
from protocol.grant import (
    DEFAULT_LIFETIME,
    MAX_LIFETIME,
    GrantClaims,
    decode_claims,
    issue_grant,
    parse_grant,
)
from protocol.keys import (
    TrustedIssuerKey,
    TrustStore,
    derive_key_id,
    load_private_key,
    load_public_key,
    public_key_bytes,
)
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import (
    ChainLink,
    ChainReport,
    Receipt,
    decode_receipt,
    receipt_digest,
    sign_receipt,
    verify_chain,
    verify_receipt,
)
from protocol.replay import InMemoryReplayCache, ReplayCache
from protocol.unlock import UnlockRequest, build_unlock_request
from protocol.verify import DEFAULT_LEEWAY, UnlockDecision, verify_unlock
from protocol.versioned import PROTOCOL_VERSION

__all__ = [
    "DEFAULT_LEEWAY",
    "DEFAULT_LIFETIME",
    "MAX_LIFETIME",
    "PROTOCOL_VERSION",
    "ChainLink",
    "ChainReport",
    "DecodeError",
    "GrantClaims",
    "GrantError",
    "InMemoryReplayCache",
    "KeyFormatError",
    "Outcome",
    "ProtocolError",
    "ReasonCode",
    "Receipt",
    "ReceiptError",
    "ReplayCache",
    "TooLargeError",
    "TrustStore",
    "TrustedIssuerKey",
    "UnlockDecision",
    "UnlockRequest",
    "UnsupportedVersionError",
    "build_unlock_request",
    "decode_claims",
    "decode_receipt",
    "derive_key_id",
    "issue_grant",
    "load_private_key",
    "load_public_key",
    "parse_grant",
    "public_key_bytes",
    "receipt_digest",
    "sign_receipt",
    "verify_chain",
    "verify_receipt",
    "verify_unlock",
]
