"""The UI-independent workflow core: pure logic and ports, no Textual and no device libraries.

Modules: `ports` (Protocols the adapters implement), `errors` (WorkflowError tree + ClientReason),
`state` (frozen snapshots the UI renders), `messages` (reason code → Notice), `workflow`
(DriverWorkflow: the façade and the delivery flow), `session` (sign-in, handheld key), `stops`
(per-stop state store with typed updates), `display_text` (outside text shown safely), plus
helpers `route_index`, `sync`, `retry` and `handheld`.

Where this differs from the first contract draft (/work/briefs/core-contract.md), and why:
- `DoorLink.unlock(door_id, make_request, on_phase)`: the core builds the whole unlock request
  (`protocol.unlock.build_unlock_request` needs the grant and the handheld key) from the door's
  challenge, so the link never holds a secret; the draft's `grant`/`sign_challenge` pair is gone.
- A stop goes SCANNED → FINDING_DOOR → REQUESTING_GRANT: a grant names exactly one door, so the
  door is chosen (strongest RSSI, or the driver's pick) before the grant is asked for.
- `AccessClient.sign_in/resume` return `protocol.api.TokenResponse`; `register_handheld` returns
  the key id as bytes (`HandheldKeyResponse.key_id`).
- `DoorOutcome.reason` is the protocol's slug string (`ReasonCode.slug`), like every `.reason`.
- `unlock()` always returns a `DoorOutcome`; failures before the door answered carry the reason
  code and `receipt=None`. `sign_in`, `resume_session`, `load_route` and `select_stop` raise
  `WorkflowError` (the sign-in screen shows it); the other actions end in a `Notice` instead.
- Added: `StopState.grant_id`, `StopState.seconds_to_open`, `RouteState.notice` (route-level
  trouble), `RouteState.current_stop`, `DriverWorkflow.find_doors()` (fill `nearby` for a door
  picker before unlocking), `DriverWorkflow.aclose()`, `credentials_description` /
  `credentials_persistent` (diagnostics, DEMO banner), and constructor parameters
  `sleep`, `backoff`, `find_timeout`, `generate_key` (time and keys are parameters), `on_close`.
- Added (issue 11): `StopState.failed_phase` (the step an attempt failed in: ✗, not ✓); each unlock
  attempt times its own steps (`StopStore.new_attempt`; earlier attempts count toward scan→open);
  `Notice.retry_at` (when the background sync tries again, so the UI counts down); client reasons
  `radio_unavailable` (no radio, unlike `door_not_found`), `outbox_read_only` and `outbox_full`.
"""
