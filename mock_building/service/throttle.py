"""Sign-in throttling per account and per client, kept in the database (NIST SP 800-63B §5.2.2).

Each key ("driver:<id>", "client:<address>") counts consecutive failed sign-ins. The first few are
free; then every failure makes the key wait longer (doubling, capped), and past a threshold the key
is locked for a fixed time. While a key waits, attempts are refused before the password is even
checked, so a guesser cannot burn the service's scrypt time either. A success clears the account's
count; a key with no failure for `forget_after_s` starts over. The state lives in the database so it
survives a restart and is shared by every worker: a failure is counted by one atomic upsert and the
key's wait is set from that count in the same transaction, so concurrent guesses all count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mock_building.service.problems import ServiceProblem
from mock_building.service.storage import Database, accounts
from protocol.reasons import ReasonCode

__all__ = ["ACCOUNT_THROTTLE", "CLIENT_THROTTLE", "SignInThrottle", "ThrottlePolicy"]


@dataclass(frozen=True)
class ThrottlePolicy:
    """How one kind of key is slowed down; NIST caps consecutive failures at 100."""

    free_failures: int
    lockout_after: int
    lockout_s: float = 900.0
    first_delay_s: float = 1.0
    max_delay_s: float = 60.0
    forget_after_s: float = 3600.0

    def __post_init__(self) -> None:
        if not 0 <= self.free_failures < self.lockout_after <= 100:
            raise ValueError("need 0 <= free_failures < lockout_after <= 100")

    def wait_after(self, failures: int) -> float:
        """Seconds a key must wait after its `failures`-th consecutive failure."""
        if failures >= self.lockout_after:
            return self.lockout_s
        if failures <= self.free_failures:
            return 0.0
        return min(self.max_delay_s, self.first_delay_s * 2 ** (failures - self.free_failures - 1))


#: One driver: three free tries, then 1, 2, 4 ... 32 s waits, locked for 15 min at the tenth failure.
ACCOUNT_THROTTLE = ThrottlePolicy(free_failures=3, lockout_after=10)
#: One network address (a depot's NAT serves many drivers): more room before it is slowed down.
CLIENT_THROTTLE = ThrottlePolicy(free_failures=10, lockout_after=50)


class SignInThrottle:
    def __init__(self, database: Database, *, account: ThrottlePolicy, client: ThrottlePolicy) -> None:
        self._database = database
        self._policies = {"driver": account, "client": client}

    async def check(self, driver_id: str, client: str, now: datetime) -> None:
        """Refuse (429 with Retry-After) while the account or the client has to wait."""
        keys = {"driver": f"driver:{driver_id}", "client": f"client:{client}"}
        states = await accounts.throttle_states(self._database, keys["driver"], keys["client"])
        for kind, key in keys.items():
            state = states.get(key)
            if state is None or state.blocked_until_epoch <= now.timestamp():
                continue
            until = datetime.fromtimestamp(state.blocked_until_epoch, UTC)
            headers = {"Retry-After": str(max(1, int(state.blocked_until_epoch - now.timestamp() + 0.999)))}
            when = f"{until:%Y-%m-%dT%H:%M:%SZ}"
            if state.failures >= self._policies[kind].lockout_after:
                what = "this account" if kind == "driver" else "this device"
                raise ServiceProblem(
                    ReasonCode.ACCOUNT_LOCKED,
                    "Sign-in locked",
                    f"{what} is locked until {when} after too many failed sign-ins",
                    headers=headers,
                )
            raise ServiceProblem(
                ReasonCode.RATE_LIMITED,
                "Too many sign-in attempts",
                f"try again after {when}",
                headers=headers,
            )

    async def failed(self, driver_id: str, client: str, now: datetime) -> None:
        stamp = now.timestamp()
        async with self._database.transaction() as tx:
            for kind, key in (("driver", driver_id), ("client", client)):
                policy = self._policies[kind]
                failures = await accounts.record_failure(tx, f"{kind}:{key}", stamp, policy.forget_after_s)
                await accounts.set_blocked_until(tx, f"{kind}:{key}", stamp + policy.wait_after(failures))

    async def succeeded(self, driver_id: str) -> None:
        """The account's count starts over; the client's does not (one good password among many guesses)."""
        await accounts.clear_throttle(self._database, f"driver:{driver_id}")
