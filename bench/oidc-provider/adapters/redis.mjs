// Redis through ioredis, the way the library's users deploy it (after its documented example
// adapter): one key per model instance with TTL = expiresIn; consumable models are hashes so
// `consume` is one atomic HSET of `consumed`; a set per grant lists the keys revokeByGrantId
// deletes; uid and userCode index keys point at sessions and device codes.
// Every key starts with PREFIX (bench_oidc_provider_<pid>:), removed by close().
import Redis from 'ioredis';

const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);
const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

export default function redisAdapter(url, prefix) {
  const client = new Redis(url, { lazyConnect: false });
  const grantKeyFor = (id) => `${prefix}grant:${id}`;
  const uidKeyFor = (uid) => `${prefix}uid:${uid}`;
  const userCodeKeyFor = (code) => `${prefix}userCode:${code}`;

  class RedisAdapter {
    constructor(name) { this.name = name; }

    key(id) { return `${prefix}${this.name}:${id}`; }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = client.multi();
      if (consumable.has(this.name)) multi.hset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (grantable.has(this.name) && payload.grantId) {
        const grantKey = grantKeyFor(payload.grantId);
        multi.sadd(grantKey, key);
        const ttl = await client.ttl(grantKey);
        if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
      }
      if (payload.userCode) {
        multi.set(userCodeKeyFor(payload.userCode), id);
        if (expiresIn) multi.expire(userCodeKeyFor(payload.userCode), expiresIn);
      }
      if (payload.uid) {
        multi.set(uidKeyFor(payload.uid), id);
        if (expiresIn) multi.expire(uidKeyFor(payload.uid), expiresIn);
      }
      await multi.exec();
    }

    async find(id) {
      const data = consumable.has(this.name)
        ? await client.hgetall(this.key(id))
        : await client.get(this.key(id));
      if (!data || (typeof data === 'object' && Object.keys(data).length === 0)) return undefined;
      if (typeof data === 'string') return JSON.parse(data);
      const { payload, consumed } = data;
      const value = JSON.parse(payload);
      if (consumed) value.consumed = Number(consumed);
      return value;
    }

    async findByUid(uid) {
      const id = await client.get(uidKeyFor(uid));
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode) {
      const id = await client.get(userCodeKeyFor(userCode));
      return id ? this.find(id) : undefined;
    }

    async consume(id) { await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000)); }

    async destroy(id) { await client.del(this.key(id)); }

    async revokeByGrantId(grantId) {
      const grantKey = grantKeyFor(grantId);
      const keys = await client.smembers(grantKey);
      const multi = client.multi();
      for (const key of keys) multi.del(key);
      multi.del(grantKey);
      await multi.exec();
    }
  }

  async function close() {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await client.quit();
  }

  return { Adapter: RedisAdapter, close };
}
