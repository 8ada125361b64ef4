"""Budget and rate-limit counters: in memory (one process) or in Redis (many).

A request is *admitted* against every budget period (`Charge`) and rate limit (`Limit`)
that covers it in one atomic step, which also reserves its worst-case cost; when the
call ends the reservation is *settled* to the actual cost (or *released* on error).

The rule, for each budget: a request is admitted while the settled spend plus the
in-flight reservations is below the hard limit. So no request is refused while spend
plus in-flight stays under the limit, and the overshoot is at most one request's
worst-case cost (per process without Redis; in total with it). At or over the limit the
budget's action decides: ``block`` refuses, ``throttle`` admits up to ``throttle_rpm``
requests a minute, ``downgrade`` admits (the caller switches the model).

Rate limits count requests and tokens per minute (fixed UTC-minute windows). Tokens are
counted at the estimate on admission and corrected to the actual count at settlement.

Counters are keyed by budget and *period start*, so a new period starts at zero at its
boundary: the reset cannot be missed. In Redis, each process keeps its in-flight
reservations in its own field of a hash, and a field whose process stopped sending
heartbeats is dropped, so a crashed process never leaves a reservation that would refuse
requests falsely.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
import redis.exceptions

ACTION_CODES = {"block": 0, "throttle": 1, "downgrade": 2}


@dataclass(frozen=True, slots=True)
class Charge:
    """One budget period a request counts against, and its worst-case cost there."""

    budget_id: str
    period_start: int  # epoch seconds
    ttl_s: int  # seconds until the period ends (Redis keys expire a day after)
    limit_nusd: int  # the hard limit
    amount_nusd: int  # this request's worst-case cost in the budget's cost basis
    action: str
    throttle_rpm: int


@dataclass(frozen=True, slots=True)
class Limit:
    """One rate limit a request counts against in the current minute."""

    limit_id: str
    rpm: int | None
    tpm: int | None
    tokens: int  # this request's estimated tokens


@dataclass(frozen=True, slots=True)
class Verdict:
    admitted: bool
    over: tuple[str, ...] = ()  # budgets at or over their hard limit (admitted by action)
    refused_by: str | None = None  # the budget or limit id that refused
    reason: str | None = None  # budget_blocked | budget_throttled | rate_limit_*
    spent_nusd: int = 0  # of the refusing budget
    reserved_nusd: int = 0


class CounterError(RuntimeError):
    """The shared counters cannot be reached (Redis down)."""


class Counters(Protocol):
    async def admit(self, charges: list[Charge], limits: list[Limit], minute: int) -> Verdict: ...

    async def settle(
        self,
        charges: list[Charge],
        actual: list[int],
        limits: list[Limit],
        minute: int,
        tokens: int,
    ) -> None: ...

    async def release(self, charges: list[Charge], limits: list[Limit], minute: int) -> None: ...

    async def seed(self, charge: Charge, spent_nusd: int) -> bool: ...

    async def snapshot(self, budget_id: str, period_start: int) -> tuple[int, int] | None: ...

    async def set_spent(self, budget_id: str, period_start: int, spent_nusd: int) -> None: ...

    async def heartbeat(self) -> None: ...

    async def close(self) -> None: ...


class MemoryCounters:
    """Counters of one process. Each method runs without awaiting, so it is atomic on
    the event loop."""

    def __init__(self) -> None:
        self.spent: dict[tuple[str, int], int] = {}
        self.reserved: dict[tuple[str, int], int] = defaultdict(int)
        self.throttled: dict[tuple[str, int], int] = defaultdict(int)
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.tokens: dict[tuple[str, int], int] = defaultdict(int)
        self._minute = 0

    def _forget_old_minutes(self, minute: int) -> None:
        if minute == self._minute:
            return
        self._minute = minute
        for table in (self.throttled, self.requests, self.tokens):
            for key in [k for k in table if k[1] < minute]:
                del table[key]

    def _limited(self, limits: list[Limit], minute: int) -> Verdict | None:
        for limit in limits:
            key = (limit.limit_id, minute)
            if limit.rpm is not None and self.requests[key] >= limit.rpm:
                return Verdict(False, refused_by=limit.limit_id, reason="rate_limit_requests")
            used = self.tokens[key]
            if limit.tpm is not None and used > 0 and used + limit.tokens > limit.tpm:
                return Verdict(False, refused_by=limit.limit_id, reason="rate_limit_tokens")
        return None

    async def admit(self, charges: list[Charge], limits: list[Limit], minute: int) -> Verdict:
        self._forget_old_minutes(minute)
        limited = self._limited(limits, minute)
        if limited is not None:
            return limited
        over = []
        for c in charges:
            key = (c.budget_id, c.period_start)
            spent, reserved = self.spent.get(key, 0), self.reserved[key]
            if spent + reserved >= c.limit_nusd:
                if c.action == "block":
                    return Verdict(False, (), c.budget_id, "budget_blocked", spent, reserved)
                over.append(c)
        for c in over:
            if c.action == "throttle" and self.throttled[(c.budget_id, minute)] >= c.throttle_rpm:
                key = (c.budget_id, c.period_start)
                return Verdict(
                    False,
                    (),
                    c.budget_id,
                    "budget_throttled",
                    self.spent.get(key, 0),
                    self.reserved[key],
                )
        for c in over:
            if c.action == "throttle":
                self.throttled[(c.budget_id, minute)] += 1
        for c in charges:
            self.reserved[(c.budget_id, c.period_start)] += c.amount_nusd
        for limit in limits:
            self.requests[(limit.limit_id, minute)] += 1
            self.tokens[(limit.limit_id, minute)] += limit.tokens
        return Verdict(True, tuple(c.budget_id for c in over))

    async def settle(
        self,
        charges: list[Charge],
        actual: list[int],
        limits: list[Limit],
        minute: int,
        tokens: int,
    ) -> None:
        for c, cost in zip(charges, actual, strict=True):
            key = (c.budget_id, c.period_start)
            self.spent[key] = self.spent.get(key, 0) + cost
            self.reserved[key] -= c.amount_nusd
        for limit in limits:
            self.tokens[(limit.limit_id, minute)] += tokens - limit.tokens

    async def release(self, charges: list[Charge], limits: list[Limit], minute: int) -> None:
        for c in charges:
            self.reserved[(c.budget_id, c.period_start)] -= c.amount_nusd
        for limit in limits:
            self.tokens[(limit.limit_id, minute)] -= limit.tokens

    async def seed(self, charge: Charge, spent_nusd: int) -> bool:
        key = (charge.budget_id, charge.period_start)
        if key in self.spent:
            return False
        self.spent[key] = spent_nusd
        return True

    async def snapshot(self, budget_id: str, period_start: int) -> tuple[int, int] | None:
        key = (budget_id, period_start)
        if key not in self.spent:
            return None
        return self.spent[key], self.reserved[key]

    async def set_spent(self, budget_id: str, period_start: int, spent_nusd: int) -> None:
        self.spent[(budget_id, period_start)] = spent_nusd

    async def heartbeat(self) -> None:
        return None

    async def close(self) -> None:
        return None


# --- Redis ---------------------------------------------------------------------------------

#: KEYS: per limit (count, tokens), then per charge (spend, reserved hash, throttle).
#: ARGV: process id, heartbeat prefix, #limits, #charges, minute ttl, then per limit
#: (rpm, tpm, tokens) with -1 for none, then per charge (limit, amount, action, rpm, ttl).
_ADMIT = """
local proc, hb = ARGV[1], ARGV[2]
local nl, nc, mttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local a = 6
for j = 1, nl do
  local rpm, tpm, tok = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local n = tonumber(redis.call('GET', KEYS[2 * j - 1]) or '0')
  local t = tonumber(redis.call('GET', KEYS[2 * j]) or '0')
  if rpm >= 0 and n >= rpm then return {0, 'rate_limit_requests', j, 0, 0} end
  if tpm >= 0 and t > 0 and t + tok > tpm then return {0, 'rate_limit_tokens', j, 0, 0} end
end
local base = 2 * nl
local over = {}
local spent, reserved = {}, {}
for i = 1, nc do
  local lim, act = tonumber(ARGV[a + (i - 1) * 5]), tonumber(ARGV[a + (i - 1) * 5 + 2])
  local s = tonumber(redis.call('GET', KEYS[base + 3 * i - 2]) or '0')
  local r = 0
  local rk = KEYS[base + 3 * i - 1]
  local fields = redis.call('HGETALL', rk)
  for f = 1, #fields, 2 do
    if redis.call('EXISTS', hb .. fields[f]) == 1 then
      r = r + tonumber(fields[f + 1])
    else
      redis.call('HDEL', rk, fields[f])
    end
  end
  spent[i], reserved[i] = s, r
  if s + r >= lim then
    if act == 0 then return {0, 'budget_blocked', i, s, r} end
    over[#over + 1] = i
  end
end
for _, i in ipairs(over) do
  local act, rpm = tonumber(ARGV[a + (i - 1) * 5 + 2]), tonumber(ARGV[a + (i - 1) * 5 + 3])
  if act == 1 then
    local n = tonumber(redis.call('GET', KEYS[base + 3 * i]) or '0')
    if n >= rpm then return {0, 'budget_throttled', i, spent[i], reserved[i]} end
  end
end
for _, i in ipairs(over) do
  if tonumber(ARGV[a + (i - 1) * 5 + 2]) == 1 then
    redis.call('INCR', KEYS[base + 3 * i])
    redis.call('EXPIRE', KEYS[base + 3 * i], mttl)
  end
end
for i = 1, nc do
  local amount, ttl = tonumber(ARGV[a + (i - 1) * 5 + 1]), tonumber(ARGV[a + (i - 1) * 5 + 4])
  redis.call('HINCRBY', KEYS[base + 3 * i - 1], proc, amount)
  redis.call('EXPIRE', KEYS[base + 3 * i - 1], ttl)
end
for j = 1, nl do
  redis.call('INCR', KEYS[2 * j - 1])
  redis.call('EXPIRE', KEYS[2 * j - 1], mttl)
  redis.call('INCRBY', KEYS[2 * j], tonumber(ARGV[6 + (j - 1) * 3 + 2]))
  redis.call('EXPIRE', KEYS[2 * j], mttl)
end
local out = {1, ''}
for _, i in ipairs(over) do out[#out + 1] = i end
return out
"""

HEARTBEAT_TTL_S = 15
MINUTE_TTL_S = 120


class RedisCounters:
    """Counters shared by every gateway process through Redis (redis-py asyncio).

    Admission is one Lua script (one round trip); settlement and release are one
    MULTI/EXEC pipeline each (one round trip).
    """

    def __init__(self, url: str, prefix: str = "aifinops:", max_connections: int = 64) -> None:
        # A blocking pool: under a burst, requests wait (up to 5 s) for a connection
        # instead of failing; each use is one short round trip.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=5
        )
        self.pool = pool
        self.client: Any = aioredis.Redis(connection_pool=pool)
        self.prefix = prefix
        self.proc = uuid.uuid4().hex[:16]
        self._admit = self.client.register_script(_ADMIT)

    def _b(self, budget_id: str, period_start: int, part: str) -> str:
        return f"{self.prefix}b:{budget_id}:{period_start}:{part}"

    def _l(self, limit_id: str, minute: int, part: str) -> str:
        return f"{self.prefix}l:{limit_id}:{minute}:{part}"

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            raise CounterError(f"Redis is unreachable: {type(exc).__name__}") from None

    async def admit(self, charges: list[Charge], limits: list[Limit], minute: int) -> Verdict:
        keys: list[str] = []
        argv: list[Any] = [
            self.proc,
            f"{self.prefix}hb:",
            len(limits),
            len(charges),
            MINUTE_TTL_S,
        ]
        for limit in limits:
            keys += [self._l(limit.limit_id, minute, "n"), self._l(limit.limit_id, minute, "t")]
            argv += [
                -1 if limit.rpm is None else limit.rpm,
                -1 if limit.tpm is None else limit.tpm,
                limit.tokens,
            ]
        for c in charges:
            keys += [
                self._b(c.budget_id, c.period_start, "s"),
                self._b(c.budget_id, c.period_start, "r"),
                f"{self.prefix}thr:{c.budget_id}:{minute}",
            ]
            argv += [c.limit_nusd, c.amount_nusd, ACTION_CODES[c.action], c.throttle_rpm, c.ttl_s]
        result = await self._call(self._admit(keys=keys, args=argv))
        if int(result[0]) == 1:
            return Verdict(True, tuple(charges[int(i) - 1].budget_id for i in result[2:]))
        reason = result[1].decode() if isinstance(result[1], bytes) else str(result[1])
        index = int(result[2]) - 1
        if reason.startswith("rate_limit"):
            return Verdict(False, refused_by=limits[index].limit_id, reason=reason)
        return Verdict(False, (), charges[index].budget_id, reason, int(result[3]), int(result[4]))

    async def settle(
        self,
        charges: list[Charge],
        actual: list[int],
        limits: list[Limit],
        minute: int,
        tokens: int,
    ) -> None:
        pipe = self.client.pipeline(transaction=True)
        for c, cost in zip(charges, actual, strict=True):
            pipe.incrby(self._b(c.budget_id, c.period_start, "s"), cost)
            pipe.expire(self._b(c.budget_id, c.period_start, "s"), c.ttl_s)
            pipe.hincrby(self._b(c.budget_id, c.period_start, "r"), self.proc, -c.amount_nusd)
        for limit in limits:
            pipe.incrby(self._l(limit.limit_id, minute, "t"), tokens - limit.tokens)
        await self._call(pipe.execute())

    async def release(self, charges: list[Charge], limits: list[Limit], minute: int) -> None:
        pipe = self.client.pipeline(transaction=True)
        for c in charges:
            pipe.hincrby(self._b(c.budget_id, c.period_start, "r"), self.proc, -c.amount_nusd)
        for limit in limits:
            pipe.incrby(self._l(limit.limit_id, minute, "t"), -limit.tokens)
        await self._call(pipe.execute())

    async def seed(self, charge: Charge, spent_nusd: int) -> bool:
        key = self._b(charge.budget_id, charge.period_start, "s")
        done = await self._call(self.client.set(key, spent_nusd, nx=True, ex=charge.ttl_s))
        return bool(done)

    async def snapshot(self, budget_id: str, period_start: int) -> tuple[int, int] | None:
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self._b(budget_id, period_start, "s"))
        pipe.hvals(self._b(budget_id, period_start, "r"))
        spent, reserved = await self._call(pipe.execute())
        if spent is None:
            return None
        return int(spent), sum(int(v) for v in reserved)

    async def set_spent(self, budget_id: str, period_start: int, spent_nusd: int) -> None:
        key = self._b(budget_id, period_start, "s")
        await self._call(self.client.set(key, spent_nusd, keepttl=True))

    async def heartbeat(self) -> None:
        key = f"{self.prefix}hb:{self.proc}"
        await self._call(self.client.set(key, 1, ex=HEARTBEAT_TTL_S))

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing: nothing to do if Redis is gone
            await self.client.delete(f"{self.prefix}hb:{self.proc}")
        await self.client.aclose()
        await self.pool.disconnect()
