"""Errors the workflow core and its ports raise.

Adapters translate foreign exceptions (httpx, bleak, keyring, sqlite3) into these at their edge, so the
core and the UI only ever see one tree::

    WorkflowError                 .reason (stable code), .title, .retryable
    ├── AccessRefused             the access service said no (problem+json code)
    ├── ServiceUnreachable        no answer from the access service (retryable)
    ├── InsecureConnection        the service's TLS certificate failed: nothing was sent (not retried)
    ├── DoorUnreachable           the door was not found or the link dropped
    ├── DoorRefused               the door answered with a refusal
    ├── CredentialsUnavailable    no safe place for secrets, or none stored
    └── ScanError                 the scanner failed (`driver_app.adapters.scanning.errors`)
"""

from __future__ import annotations

from enum import StrEnum


class ClientReason(StrEnum):
    """Reason codes for conditions only the handheld sees (the protocol's codes cover the rest)."""

    SERVICE_UNREACHABLE = "service_unreachable"
    DOOR_NOT_FOUND = "door_not_found"
    DOOR_LINK_LOST = "door_link_lost"
    NO_SCAN = "no_scan"
    NOT_UNLOCKED = "not_unlocked"
    NO_ROUTE = "no_route"
    NOT_SIGNED_IN = "not_signed_in"
    INSECURE_KEYRING = "insecure_keyring"
    KEYRING_FAILED = "keyring_failed"
    OUTBOX_FAILED = "outbox_failed"
    OUTBOX_READ_ONLY = "outbox_read_only"
    OUTBOX_FULL = "outbox_full"
    RADIO_UNAVAILABLE = "radio_unavailable"
    OUTBOX_FROM_EARLIER = "outbox_from_earlier"
    BAD_RESPONSE = "bad_response"
    INSECURE_CONNECTION = "insecure_connection"
    NO_SUCH_FILE = "no_such_file"
    UNREADABLE_FILE = "unreadable_file"
    NOT_AN_IMAGE = "not_an_image"
    CANNOT_OPEN_VIDEO = "cannot_open_video"
    SIM_RADIO_NOT_INSTALLED = "sim_radio_not_installed"


class WorkflowError(Exception):
    """Root of every error the core handles; `reason` is a stable machine-readable code."""

    title = "Something went wrong"
    default_retryable = False

    def __init__(
        self,
        reason: str,
        detail: str = "",
        *,
        title: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = str(reason)
        self.detail = detail
        if title is not None:
            self.title = title
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after  # seconds the service asked the client to wait (Retry-After)


class AccessRefused(WorkflowError):
    title = "Access service refused"


class ServiceUnreachable(WorkflowError):
    title = "Access service unreachable"
    default_retryable = True

    def __init__(
        self,
        detail: str = "",
        *,
        reason: str = ClientReason.SERVICE_UNREACHABLE,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, detail, retry_after=retry_after)


class InsecureConnection(WorkflowError):
    """Not bad coverage: someone or something answered for the host without a trusted certificate."""

    title = "Secure connection failed"

    def __init__(self, host: str, detail: str = "") -> None:
        super().__init__(ClientReason.INSECURE_CONNECTION, f"{host}: {detail}" if detail else host)
        self.host = host


class DoorUnreachable(WorkflowError):
    title = "Door unreachable"


class DoorRefused(WorkflowError):
    title = "Door refused"


class CredentialsUnavailable(WorkflowError):
    title = "Credentials unavailable"
