"""The protocol package's exception tree (one root, structured reason codes).

    ProtocolError                 every error this package raises
    ├── DecodeError               bytes are not a well-formed, strictly encoded message
    │   └── TooLargeError         rejected by the size cap before decoding
    ├── UnsupportedVersionError   well-formed, but a protocol version we do not speak
    ├── KeyFormatError            raw key bytes or key ids of the wrong shape
    ├── GrantError                claims that must not be issued (bad ids, lifetime too long)
    ├── ReceiptError              a receipt that does not verify
    └── ApiError                  data that does not fit the HTTP API models

Decoders raise only these, whatever the input; the verifier does not raise at all but
returns a typed decision. Each error carries the `ReasonCode` a caller reports upstream.
"""

from __future__ import annotations

from protocol.reasons import ReasonCode

__all__ = [
    "ApiError",
    "DecodeError",
    "GrantError",
    "KeyFormatError",
    "ProtocolError",
    "ReceiptError",
    "TooLargeError",
    "UnsupportedVersionError",
]


class ProtocolError(Exception):
    """Root of every error raised by `protocol`; `reason` is machine-readable."""

    default_reason: ReasonCode = ReasonCode.MALFORMED

    def __init__(self, message: str, reason: ReasonCode | None = None) -> None:
        super().__init__(message)
        self.reason: ReasonCode = reason if reason is not None else self.default_reason


class DecodeError(ProtocolError):
    """Input is not well-formed, strict, deterministic CBOR of the expected shape."""


class TooLargeError(DecodeError):
    """Input is longer than the cap for its message type; refused before decoding."""

    default_reason = ReasonCode.TOO_LARGE


class UnsupportedVersionError(ProtocolError):
    """The message's version field names a protocol version this code does not implement."""

    default_reason = ReasonCode.UNSUPPORTED_VERSION


class KeyFormatError(ProtocolError):
    """Raw key material or a key id has the wrong type or length."""


class GrantError(ProtocolError):
    """Claims that the issuer must refuse to sign."""

    default_reason = ReasonCode.INVALID_REQUEST


class ReceiptError(ProtocolError):
    """A door receipt that is malformed or whose signature does not verify."""

    default_reason = ReasonCode.RECEIPT_BAD_SIGNATURE


class ApiError(ProtocolError):
    """A value that does not fit the HTTP API models (e.g. bad base64url)."""

    default_reason = ReasonCode.INVALID_REQUEST
