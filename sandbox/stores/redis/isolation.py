"""Redis's transactions for the isolation experiment (contract.Transactions), under a key prefix of their own
(`<namespace>_iso:`, claimed by setup, unlinked by drop), on the store's own redis-py pool. Two mechanisms:

- `watch`: WATCH every key the transaction touches, read what it reads at once, then MULTI, the writes, EXEC;
  EXEC refuses (WatchError: "fail") when another client changed a watched key in between, so what was read
  still held when the writes applied. A read after the transaction's own write is answered from what it read
  plus its own writes (queued commands return nothing until EXEC).
- `lua`: the whole transaction as one script (EVAL): Redis runs a script alone, nothing interleaves.

Lists are Redis lists (RPUSH, LRANGE), registers plain strings (SET, GET).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import ConnectionError, TimeoutError, WatchError

from sandbox.stores.contract import Mop, TxnOutcome
from sandbox.stores.redis.keys import claim_prefix, unlink_prefix

LEVELS = {"watch": "serializable", "lua": "serializable"}
# Reads come back as arrays: a register's GET wrapped as {value} or {} (a Lua table cannot hold nil).
SCRIPT = """
local out = {}
for i = 1, #ARGV, 2 do
  local f, k = ARGV[i], KEYS[(i + 1) / 2]
  if f == 'append' then redis.call('RPUSH', k, ARGV[i + 1])
  elseif f == 'w' then redis.call('SET', k, ARGV[i + 1])
  elseif f == 'rl' then out[#out + 1] = redis.call('LRANGE', k, 0, -1)
  else local v = redis.call('GET', k); if v then out[#out + 1] = {v} else out[#out + 1] = {} end end
end
return out
"""


def _list(values: Sequence[Any]) -> list[int] | None:
    return [int(v) for v in values] or None  # an empty list is a key never appended to: nil


class RedisTransactions:
    def __init__(self, client: Any, namespace: str):
        self.client = client
        self.prefix = f"{namespace}_iso"
        self.where = f"key prefix {self.prefix}:"
        self.levels = LEVELS
        self._claimed = False

    def key(self, model: str, k: Any) -> str:
        return f"{self.prefix}:{'l' if model == 'list-append' else 'r'}:{k}"

    async def setup(self) -> None:
        await claim_prefix(self.client, self.prefix)
        self._claimed = True

    async def drop(self) -> None:
        if self._claimed:
            await unlink_prefix(self.client, self.prefix)
            self._claimed = False

    async def run(self, level: str, model: str, mops: Sequence[Mop]) -> TxnOutcome:
        try:
            done = await (self._watch(model, mops) if level == "watch" else self._lua(model, mops))
        except WatchError:
            return TxnOutcome("fail", error="WatchError")
        except (ConnectionError, TimeoutError, OSError) as exc:
            return TxnOutcome("info", error=type(exc).__name__)
        return TxnOutcome("ok", done)

    async def _watch(self, model: str, mops: Sequence[Mop]) -> tuple[Mop, ...]:
        keys = sorted({self.key(model, k) for _, k, _ in mops})
        async with self.client.pipeline(transaction=True) as pipe:
            await pipe.watch(*keys)
            state: dict[Any, Any] = {}  # key -> what the transaction sees: the server's value, then its own writes
            for f, k, _ in mops:
                if f == "r" and k not in state:
                    key = self.key(model, k)
                    state[k] = _list(await pipe.lrange(key, 0, -1)) if model == "list-append" else \
                        (None if (v := await pipe.get(key)) is None else int(v))
            pipe.multi()
            out: list[Mop] = []
            for f, k, v in mops:
                key = self.key(model, k)
                if f == "append":
                    pipe.rpush(key, v)
                    if k in state:  # a key it reads later: the read shows its own append
                        state[k] = [*(state[k] or []), v]
                elif f == "w":
                    pipe.set(key, v)
                    state[k] = v
                out.append((f, k, v) if f != "r" else (f, k, state[k]))
            await pipe.execute()
        return tuple(out)

    async def _lua(self, model: str, mops: Sequence[Mop]) -> tuple[Mop, ...]:
        keys = [self.key(model, k) for _, k, _ in mops]
        read = "rl" if model == "list-append" else "rr"
        args = [a for f, _, v in mops for a in ((read, "") if f == "r" else (f, v))]
        got = iter(await self.client.eval(SCRIPT, len(keys), *keys, *args))
        out: list[Mop] = []
        for f, k, v in mops:
            if f != "r":
                out.append((f, k, v))
            elif model == "list-append":
                out.append((f, k, _list(next(got))))
            else:
                out.append((f, k, int(r[0]) if (r := next(got)) else None))
        return tuple(out)
