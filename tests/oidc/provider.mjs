// A real OpenID provider for the staff console's tests: oidc-provider (OpenID Certified) with
// its development login form (any password), one test account per role, open dynamic client
// registration (each test app registers its own redirect URI, whose port is chosen at start),
// and the roles in the ID token (claim `roles`, scope `roles`; the account `mapped` has a group
// name that only PORTAAL_OIDC_ROLE_MAP turns into a role).
//
//   node tests/oidc/provider.mjs [port]   prints the issuer URL on its first line of output
//
// It listens on 127.0.0.1 only and stops when its standard input closes (so a test process that
// started it takes it along when it ends). Test use only: its keys are made at each start.
import http from 'node:http';
import Provider from 'oidc-provider';

const ROLES = {
  handler: ['handler'],
  admin: ['admin'],
  records: ['records'],
  all: ['handler', 'admin', 'records'],
  nobody: [],
  mapped: ['JZ-Behandelaar'],
};

async function findAccount(_ctx, id) {
  if (!Object.hasOwn(ROLES, id)) return undefined;
  return {
    accountId: id,
    claims: async () => ({
      sub: id,
      email: `${id}@example.nl`,
      email_verified: true,
      name: `Test ${id}`,
      roles: ROLES[id],
    }),
  };
}

// First-party client: consent is given at once, for the scopes asked.
async function loadExistingGrant(ctx) {
  const { provider, client, session } = ctx.oidc;
  const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
  const existing = grantId && (await provider.Grant.find(grantId));
  if (existing) return existing;
  const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
  await grant.save();
  return grant;
}

const server = http.createServer();
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    findAccount,
    loadExistingGrant,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      roles: ['roles'],
    },
    scopes: ['openid', 'email', 'profile', 'roles'],
    // The console reads the roles from the ID token (as Entra ID and Keycloak can send them).
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    pkce: { required: () => true },
    cookies: { keys: ['portaal-test-only'] },
  });
  // Keep its warnings about development defaults out of the first line of output.
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider:', err));
  server.on('request', provider.callback());
  process.stdout.write(`${issuer}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
