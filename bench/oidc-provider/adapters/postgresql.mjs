// PostgreSQL through node-postgres (pg): one JSONB table for every model, as the library's adapter
// interface allows, with the columns its queries need (grant_id, uid, user_code, expires_at,
// consumed_at) and their indexes. `consume` is one UPDATE; expired rows are not found.
// The table (TABLE, bench_oidc_provider_<pid>) is the benchmark's own, dropped by close().
import pg from 'pg';

export default async function postgresqlAdapter(url, table) {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  await pool.query(`CREATE TABLE ${table} (
    model text NOT NULL, id text NOT NULL, payload jsonb NOT NULL,
    grant_id text, uid text, user_code text,
    expires_at timestamptz, consumed_at timestamptz,
    PRIMARY KEY (model, id))`);
  await pool.query(`CREATE INDEX ${table}_grant ON ${table} (model, grant_id) WHERE grant_id IS NOT NULL`);
  await pool.query(`CREATE INDEX ${table}_uid ON ${table} (uid) WHERE uid IS NOT NULL`);
  await pool.query(`CREATE INDEX ${table}_user_code ON ${table} (user_code) WHERE user_code IS NOT NULL`);
  await pool.query(`CREATE INDEX ${table}_expires ON ${table} (expires_at)`);

  const live = '(expires_at IS NULL OR expires_at > now())';
  const row = (r) => {
    if (!r) return undefined;
    const value = r.payload;
    if (r.consumed !== null) value.consumed = Number(r.consumed);
    return value;
  };
  const select = `SELECT payload, extract(epoch FROM consumed_at)::bigint AS consumed FROM ${table}`;

  class PostgresAdapter {
    constructor(name) { this.name = name; }

    async upsert(id, payload, expiresIn) {
      await pool.query(
        `INSERT INTO ${table} (model, id, payload, grant_id, uid, user_code, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL
                                               ELSE now() + make_interval(secs => $7::int) END)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
           uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
        [this.name, id, payload, payload.grantId ?? null, payload.uid ?? null, payload.userCode ?? null,
          expiresIn ?? null],
      );
    }

    async find(id) {
      const { rows } = await pool.query(`${select} WHERE model = $1 AND id = $2 AND ${live}`, [this.name, id]);
      return row(rows[0]);
    }

    async findByUid(uid) {
      const { rows } = await pool.query(`${select} WHERE model = $1 AND uid = $2 AND ${live}`, [this.name, uid]);
      return row(rows[0]);
    }

    async findByUserCode(userCode) {
      const { rows } = await pool.query(`${select} WHERE model = $1 AND user_code = $2 AND ${live}`,
        [this.name, userCode]);
      return row(rows[0]);
    }

    async consume(id) {
      await pool.query(`UPDATE ${table} SET consumed_at = now() WHERE model = $1 AND id = $2`, [this.name, id]);
    }

    async destroy(id) {
      await pool.query(`DELETE FROM ${table} WHERE model = $1 AND id = $2`, [this.name, id]);
    }

    async revokeByGrantId(grantId) {
      await pool.query(`DELETE FROM ${table} WHERE model = $1 AND grant_id = $2`, [this.name, grantId]);
    }
  }

  async function close() {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  }

  return { Adapter: PostgresAdapter, close };
}
