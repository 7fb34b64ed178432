// panva's oidc-provider configured like the PostID provider, for the benchmark only:
// one confidential client (client_secret_basic), PKCE S256 required, ES256 ID tokens and JWT
// access tokens (RFC 9068) for the code and refresh grants, refresh tokens rotated on use.
// Its storage is chosen by ADAPTER (adapters/*.mjs): memory (an unbounded Map, the upper bound),
// redis (ioredis at $BENCH_REDIS_URL, default redis://127.0.0.1:6379) or postgresql (pg at
// $BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test). The durable ones keep
// their data under bench_oidc_provider_<pid> (key prefix or table) and remove it on SIGTERM/SIGINT.
//
// usage: node server.mjs PORT SEED_FILE JWK_FILE CODES REFRESH_TOKENS [memory|redis|postgresql]
// Seeds CODES authorization codes and REFRESH_TOKENS refresh tokens through the library's own
// models, writes them (and an opaque access token for userinfo) to SEED_FILE, then listens.
import { writeFileSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import memoryAdapter from './adapters/memory.mjs';
import postgresqlAdapter from './adapters/postgresql.mjs';
import redisAdapter from './adapters/redis.mjs';

const [port, seedFile, jwkFile, codeCount, refreshCount, kind = 'memory'] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const resource = `${issuer}/api`;
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const ACCOUNT = 'citizen-1';
const own = `bench_oidc_provider_${process.pid}`;

let storage;
if (kind === 'memory') storage = memoryAdapter();
else if (kind === 'redis') storage = redisAdapter(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', `${own}:`);
else if (kind === 'postgresql') {
  storage = await postgresqlAdapter(process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test', own);
} else throw new Error(`unknown adapter ${kind}: memory, redis or postgresql`);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  try { await storage.close(); } finally { process.exit(0); }
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

// Seeding through the models, 64 at a time (one at a time took minutes on a durable store).
async function seedMany(count, make) {
  const out = new Array(count);
  for (let start = 0; start < count; start += 64) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + 64); i += 1) batch.push(make(i).then((v) => { out[i] = v; }));
    await Promise.all(batch);
  }
  return out;
}

const provider = new Provider(issuer, {
  adapter: storage.Adapter,
  clients: [{
    client_id: 'bench', client_secret: 'bench-secret-bench-secret-bench-secret',
    redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [JSON.parse(readFileSync(jwkFile, 'utf8'))] },
  scopes: ['openid', 'profile', 'offline_access'],
  claims: { openid: ['sub'], profile: ['name'] },
  pkce: { required: () => true },
  rotateRefreshToken: () => true,
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, name: 'Trần Thị Bình' }) }),
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'profile', accessTokenFormat: 'jwt', accessTokenTTL: 300,
                                       jwt: { sign: { alg: 'ES256' } } }),
    },
  },
  ttl: { AuthorizationCode: 600, AccessToken: 300, IdToken: 300, RefreshToken: 30 * 86400, Grant: 30 * 86400 },
});

const client = await provider.Client.find('bench');
const verifier = randomBytes(32).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');
const authTime = Math.floor(Date.now() / 1000);

async function newGrant(scope) {
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: 'bench' });
  grant.addOIDCScope(scope);
  grant.addResourceScope(resource, 'profile');
  return grant.save();
}

const codes = await seedMany(Number(codeCount), async (i) => {
  const grantId = await newGrant('openid profile');
  const code = new provider.AuthorizationCode({
    accountId: ACCOUNT, client, grantId, scope: 'openid profile', redirectUri: REDIRECT_URI,
    codeChallenge: challenge, codeChallengeMethod: 'S256', authTime, acr: 'LoA1', nonce: `n${i}`,
    resource, expiresWithSession: false,
  });
  return code.save();
});
const refreshTokens = await seedMany(Number(refreshCount), async () => {
  const grantId = await newGrant('openid offline_access');
  const rt = new provider.RefreshToken({
    accountId: ACCOUNT, client, grantId, scope: 'openid offline_access', gty: 'authorization_code',
    rotations: 0, authTime, acr: 'LoA1', resource, expiresWithSession: false,
  });
  return rt.save();
});
const userinfoGrant = await newGrant('openid profile');
const at = new provider.AccessToken({ accountId: ACCOUNT, client, grantId: userinfoGrant, scope: 'openid profile',
                                      gty: 'authorization_code', expiresWithSession: false });
const accessToken = await at.save();

writeFileSync(seedFile, JSON.stringify({ codes, refresh_tokens: refreshTokens, verifier, access_token: accessToken,
                                         redirect_uri: REDIRECT_URI, client_id: 'bench',
                                         client_secret: 'bench-secret-bench-secret-bench-secret' }));
provider.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${issuer}\n`));
