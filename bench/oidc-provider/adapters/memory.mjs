// An unbounded in-memory Map: the upper bound (nothing to wait on, nothing durable). The library's
// own memory adapter is an LRU of 1,000 entries, too small to hold the seeded codes.
export default function memoryAdapter() {
  const store = new Map();
  class MapAdapter {
    constructor(name) { this.name = name; }
    key(id) { return `${this.name}:${id}`; }
    async upsert(id, payload) { store.set(this.key(id), payload); }
    async find(id) { return store.get(this.key(id)); }
    async findByUid(uid) { for (const v of store.values()) if (v.uid === uid) return v; return undefined; }
    async findByUserCode() { return undefined; }
    async consume(id) { const v = store.get(this.key(id)); if (v) v.consumed = Math.floor(Date.now() / 1000); }
    async destroy(id) { store.delete(this.key(id)); }
    async revokeByGrantId(grantId) {
      for (const [k, v] of store) if (v.grantId === grantId) store.delete(k);
    }
  }
  return { Adapter: MapAdapter, close: async () => {} };
}
