// The OpenID provider the tests start: oidc-provider with static clients and SPID-style test accounts.
//
// Usage: node provider.mjs CONFIG.json
// CONFIG: {"port": 4000, "clients": [...oidc-provider client metadata...],
//          "accounts": [{"login", "password", "sub", "acr", "claims": {...}}]}
// Prints "ready <issuer>" on stdout once it listens (127.0.0.1 only).

import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const FISCAL_NUMBER = 'https://attributes.eid.gov.it/fiscal_number';
const SPID_LEVELS = ['SpidL1', 'SpidL2', 'SpidL3'].map((l) => `https://www.spid.gov.it/${l}`);

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = new Map(config.accounts.map((a) => [a.sub, a]));

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title, body) => `<!DOCTYPE html>
<html lang="it"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

const provider = new Provider(issuer, {
  clients: config.clients,
  acrValues: SPID_LEVELS,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name'],
    [FISCAL_NUMBER]: null,
    given_name: null,
    family_name: null,
  },
  cookies: { keys: ['riscossa-test-provider-cookie-key'] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    requestObjects: { enabled: true, requireSignedRequestObject: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page(
          'Uscita dal provider di test',
          `${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Esci</button>`,
        );
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Uscita completata', '<p>Sei uscito.</p>');
      },
    },
  },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
});

async function form(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

function loginPage(uid, error) {
  return page(
    'Accesso al provider di test',
    `${error ? `<p role="alert">${escape(error)}</p>` : ''}
    <form method="post" action="/interaction/${uid}/login">
      <label>Utente <input name="login" autocomplete="off" autofocus></label>
      <label>Password <input name="password" type="password"></label>
      <button type="submit">Accedi</button>
    </form>`,
  );
}

async function consent(details) {
  const { prompt: { details: missing }, params, session } = details;
  let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  if (!grant) grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return { consent: { grantId: await grant.save() } };
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/);
  if (!match) return next();
  const [, uid, action] = match;
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
  ctx.type = 'html';
  if (ctx.method === 'GET' && !action) {
    if (details.prompt.name === 'login') {
      ctx.body = loginPage(uid);
    } else {
      ctx.body = page(
        'Autorizzazione',
        `<p>Il servizio ${escape(details.params.client_id)} chiede i tuoi dati.</p>
        <form method="post" action="/interaction/${uid}/confirm"><button type="submit">Autorizza</button></form>
        <form method="post" action="/interaction/${uid}/abort"><button type="submit">Annulla</button></form>`,
      );
    }
    return undefined;
  }
  if (ctx.method !== 'POST') ctx.throw(405);
  let result;
  if (action === 'login') {
    const { login, password } = await form(ctx.req);
    const account = [...accounts.values()].find((a) => a.login === login && a.password === password);
    if (!account) {
      ctx.status = 401;
      ctx.body = loginPage(uid, 'Credenziali non valide.');
      return undefined;
    }
    result = { login: { accountId: account.sub, acr: account.acr, amr: ['pwd'] } };
  } else if (action === 'confirm') {
    result = await consent(details);
  } else {
    result = { error: 'access_denied', error_description: 'annullato dall\'utente' };
  }
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  return undefined;
});

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
