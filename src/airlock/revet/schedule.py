"""Re-vetting inside `airlock serve`: one background thread (off the event loop, so requests are
never held up by hashing or scanning), one run at a time by construction.

At start, and at every check after it, the versions in service whose last vet applied another
policy or rule set than today's are re-vetted (the policy file is read again at each check, so an
edit to it is detected while serving); every `every_s` seconds all of them are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from airlock.policy.model import Policy
from airlock.policy.schema import PolicyError
from airlock.registry.store import Registry
from airlock.revet.run import SUSPENDED, Outcome, due, revet

# How often the policy file and the versions' last vets are looked at between full runs.
CHECK_S = 60.0
ACTOR = "airlock serve --revet-every"


class RevetSchedule:
    def __init__(
        self,
        registry: Registry,
        load_policy: Callable[[], Policy],
        every_s: float,
        log: Callable[[str], None],
        *,
        check_s: float = CHECK_S,
        ran: Callable[[list[Outcome]], None] | None = None,
    ) -> None:
        """`load_policy` reads today's policy (raising PolicyError); `ran` hears of each run."""
        self._registry = registry
        self._load_policy = load_policy
        self._every_s = every_s
        self._check_s = min(check_s, every_s)
        self._log = log
        self._ran = ran
        self._policy: Policy | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="airlock-revet", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stops after the version being re-vetted now (the thread is a daemon: a long vet
        does not keep the process alive at exit)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        next_full = time.monotonic() + self._every_s
        while not self._stop.is_set():
            full = time.monotonic() >= next_full
            if full:
                next_full = time.monotonic() + self._every_s
            try:
                self.run_once(full)
            except Exception as exc:  # the schedule must outlive one bad run
                self._log(f"revet failed, retried at the next check: {type(exc).__name__}: {exc}")
            self._stop.wait(max(0.0, min(self._check_s, next_full - time.monotonic())))

    def run_once(self, full: bool) -> list[Outcome]:
        """One run: every version in service when `full`, else those vetted under other
        digests (none: nothing is done)."""
        policy = self._today_policy()
        records = [r for r in self._registry.versions() if r.suspended_reason is None]
        targets = records if full else due(records, policy)
        if not targets:
            return []
        why = "scheduled" if full else "vetted under another policy or rule set"
        self._log(f"re-vetting {len(targets)} version(s) ({why}) with policy {policy.name!r}")
        # jobs=1: the scan's worker processes would be forked from a threaded server.
        outcomes = revet(self._registry, targets, policy, actor=ACTOR, jobs=1, done=self._tell)
        if self._ran is not None:
            self._ran(outcomes)
        return outcomes

    def _today_policy(self) -> Policy:
        """The policy file as it is now; one that no longer loads keeps the last good one (the
        server checked it loads at start)."""
        try:
            self._policy = self._load_policy()
        except PolicyError as exc:
            if self._policy is None:
                raise
            self._log(f"the policy cannot be read ({exc}): re-vetting with the last good one")
        return self._policy

    def _tell(self, outcome: Outcome) -> None:
        if outcome.status == SUSPENDED:
            self._log(f"suspended {outcome.name} v{outcome.version}: {outcome.reason}")
