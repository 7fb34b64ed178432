// panva's oidc-provider configured like the PostID provider, for the benchmark only:
// one confidential client (client_secret_basic), PKCE S256 required, ES256 ID tokens and JWT
// access tokens (RFC 9068) for the code and refresh grants, refresh tokens rotated on use.
// Its storage is an unbounded in-memory Map adapter (the library's own memory adapter is an LRU of
// 1,000 entries, too small to hold the seeded codes): nothing to wait on, unlike our database.
//
// usage: node server.mjs PORT SEED_FILE JWK_FILE CODES REFRESH_TOKENS
// Seeds CODES authorization codes and REFRESH_TOKENS refresh tokens through the library's own
// models, writes them (and an opaque access token for userinfo) to SEED_FILE, then listens.
import { writeFileSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, seedFile, jwkFile, codeCount, refreshCount] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const resource = `${issuer}/api`;
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const ACCOUNT = 'citizen-1';

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

const provider = new Provider(issuer, {
  adapter: MapAdapter,
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

const codes = [];
for (let i = 0; i < Number(codeCount); i += 1) {
  const grantId = await newGrant('openid profile');
  const code = new provider.AuthorizationCode({
    accountId: ACCOUNT, client, grantId, scope: 'openid profile', redirectUri: REDIRECT_URI,
    codeChallenge: challenge, codeChallengeMethod: 'S256', authTime, acr: 'LoA1', nonce: `n${i}`,
    resource, expiresWithSession: false,
  });
  codes.push(await code.save());
}
const refreshTokens = [];
for (let i = 0; i < Number(refreshCount); i += 1) {
  const grantId = await newGrant('openid offline_access');
  const rt = new provider.RefreshToken({
    accountId: ACCOUNT, client, grantId, scope: 'openid offline_access', gty: 'authorization_code',
    rotations: 0, authTime, acr: 'LoA1', resource, expiresWithSession: false,
  });
  refreshTokens.push(await rt.save());
}
const userinfoGrant = await newGrant('openid profile');
const at = new provider.AccessToken({ accountId: ACCOUNT, client, grantId: userinfoGrant, scope: 'openid profile',
                                      gty: 'authorization_code', expiresWithSession: false });
const accessToken = await at.save();

writeFileSync(seedFile, JSON.stringify({ codes, refresh_tokens: refreshTokens, verifier, access_token: accessToken,
                                         redirect_uri: REDIRECT_URI, client_id: 'bench',
                                         client_secret: 'bench-secret-bench-secret-bench-secret' }));
provider.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${issuer}\n`));
