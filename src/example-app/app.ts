// buildExampleApp(options): the example SMART app as a Fastify instance (not listening), so tests can start it on any
// port against any test server. Routes: / (start), /connect (standalone launch), /launch (EHR launch), /callback,
// /record, /sign-out, /app.css.
import { readFileSync } from 'node:fs';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ConnectionEnded, withAccessToken } from './connection.js';
import { loadRecord } from './fhir-record.js';
import { homePage, messagePage } from './pages.js';
import { recordPage } from './record-page.js';
import { SessionStore, type SmartSession } from './sessions.js';
import { DATA_SCOPES, discoverSmart, oauthErrorOf, registerSmartOAuth, type SmartEndpoints } from './smart-oauth.js';

export interface ExampleAppOptions {
  /** The FHIR server this app trusts: the only `iss` it accepts and the `aud` of every token it asks for */
  readonly fhirBaseUrl: string;
  /** The origin browsers use to reach the app (scheme, host, port); the redirect URI is `${publicUrl}/callback` */
  readonly publicUrl: string;
  readonly clientId: string;
  /** Set for a confidential client (client_secret_basic); unset, the app is a public client (PKCE only) */
  readonly clientSecret?: string;
  /** Pino logger options, or false (tests) */
  readonly logger?: boolean | object;
  /** Refresh the access token when it expires within this many seconds (default 30) */
  readonly refreshMarginSeconds?: number;
  /** Pages of 100 followed per search (default 10) */
  readonly maxPages?: number;
  /** Sessions end after this long without a request (default 8 hours) */
  readonly sessionIdleMs?: number;
  /** The OAuth endpoints, when already discovered (default: read from the FHIR server's smart-configuration) */
  readonly endpoints?: SmartEndpoints;
}

const SESSION_COOKIE = 'lab-viewer-session';
const STYLESHEET = readFileSync(new URL('./app.css', import.meta.url), 'utf8');

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export async function buildExampleApp(options: ExampleAppOptions): Promise<FastifyInstance> {
  const fhirBaseUrl = withoutTrailingSlash(options.fhirBaseUrl);
  const publicUrl = new URL(withoutTrailingSlash(options.publicUrl));
  const secure = publicUrl.protocol === 'https:';
  const freshness = { refreshMarginSeconds: options.refreshMarginSeconds ?? 30 };
  const endpoints = options.endpoints ?? (await discoverSmart(fhirBaseUrl));
  const sessions = new SessionStore(options.sessionIdleMs ?? 8 * 3600_000);

  const app = Fastify({ logger: options.logger ?? false });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  const oauth = await registerSmartOAuth(app, {
    endpoints,
    clientId: options.clientId,
    ...(options.clientSecret ? { clientSecret: options.clientSecret } : {}),
    redirectUri: `${publicUrl.origin}/callback`,
    secureCookies: secure,
  });

  app.addHook('onSend', async (_req, reply) => {
    // No script anywhere; styles only from our own stylesheet. No frame-ancestors: an EHR may show the app in a frame.
    reply.header('content-security-policy', "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'");
    // The callback URL carries the authorization code: never let it leak to another site in a Referer header.
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  // localhost and 127.0.0.1 are different sites to a browser, with separate cookies: a flow started on one and
  // returning to the other (the redirect URI) would lose its state and PKCE cookies. Start every flow on PUBLIC_URL.
  app.addHook('onRequest', async (req, reply) => {
    const host = req.headers.host;
    if (req.method !== 'GET' || !host || host === publicUrl.host || req.url.startsWith('/callback')) return;
    const hostname = host.replace(/:\d+$/, '');
    if (LOOPBACK.has(hostname) && LOOPBACK.has(publicUrl.hostname)) return reply.redirect(`${publicUrl.origin}${req.url}`);
  });

  const page = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);
  const sessionOf = (req: FastifyRequest): SmartSession | undefined => sessions.get(req.cookies[SESSION_COOKIE]);
  const endSession = (req: FastifyRequest, reply: FastifyReply) => {
    const id = req.cookies[SESSION_COOKIE];
    if (id) sessions.delete(id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
  };

  app.get('/app.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET));

  app.get('/', async (req, reply) => (sessionOf(req) ? reply.redirect('/record') : page(reply, 200, homePage(fhirBaseUrl))));

  // Standalone launch: the app starts on its own; the patient signs in and picks whose record (launch/patient).
  app.get('/connect', async (req, reply) => reply.redirect(await oauth.authorizeUrl(req, reply, { aud: fhirBaseUrl })));

  // EHR launch: the EHR (or the sandbox's launcher) opens /launch?iss=<FHIR base>&launch=<opaque context handle>.
  app.get('/launch', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const iss = str(q.iss);
    const launch = str(q.launch);
    if (!iss || !launch) {
      return page(reply, 400, messagePage({ title: 'This launch link is incomplete', paragraphs: ['An EHR launch needs both iss (the FHIR server) and launch. Start the app again from your health record system.'], connectAgain: true }));
    }
    // Anyone can craft a launch link. Sending the user (and later a token) to an `iss` we were not set up for would
    // let a stranger's server collect the patient's sign-in or the app's authorization: only our own server passes.
    if (withoutTrailingSlash(iss) !== fhirBaseUrl) {
      return page(reply, 400, messagePage({ title: 'Unknown health record server', paragraphs: [`This app is set up for ${fhirBaseUrl} and will not connect to ${iss}.`, 'If you opened a link you were sent, close it. Otherwise ask the app’s developer to configure this server.'] }));
    }
    // The OAuth endpoints came from this same server's smart-configuration at start (discoverSmart). An app that
    // serves many EHRs would look up `${iss}/.well-known/smart-configuration` here, after checking iss the same way.
    return reply.redirect(await oauth.authorizeUrl(req, reply, { aud: fhirBaseUrl, launch }));
  });

  app.get('/callback', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const error = str(q.error);
    if (error) {
      oauth.clearFlowCookies(reply);
      const description = str(q.error_description);
      if (error === 'access_denied') {
        return page(reply, 200, messagePage({ title: 'You did not share your record', paragraphs: ['Access was denied, so nothing was shared with this app.', 'You can connect again whenever you like.'], connectAgain: true, detail: `error=${error}` }));
      }
      return page(reply, 400, messagePage({ title: 'The connection did not work', paragraphs: [`The health record server said: ${description ?? error}.`, 'Try again; if it keeps happening, tell the app’s developer.'], connectAgain: true, detail: `error=${error}` }));
    }
    if (!str(q.code)) return page(reply, 400, messagePage({ title: 'Nothing to continue', paragraphs: ['This address is where your health record sends you back after you connect. Start from the beginning.'], connectAgain: true }));
    let tokens;
    try {
      tokens = await oauth.exchangeCode(req, reply);
    } catch (err) {
      const oauthError = oauthErrorOf(err);
      if (oauthError) {
        return page(reply, 400, messagePage({ title: 'The connection did not work', paragraphs: [`The health record server refused the sign-in: ${oauthError.description ?? oauthError.error}.`], connectAgain: true, detail: `error=${oauthError.error}` }));
      }
      if ((err as Error).message === 'Invalid state') {
        // The state cookie is missing or differs: another tab started a newer sign-in, or this link is old or forged.
        return page(reply, 400, messagePage({ title: 'This sign-in has expired', paragraphs: ['It was started in another tab or browser, or a newer one replaced it. Please connect again.'], connectAgain: true }));
      }
      throw err;
    }
    const patient = str(tokens.patient);
    if (!patient) {
      return page(reply, 400, messagePage({ title: 'No record was chosen', paragraphs: ['The health record server did not say whose record to show.'], connectAgain: true, detail: 'no patient in the token response' }));
    }
    const session = sessions.create({
      tokens,
      patient,
      ...(str(tokens.encounter) ? { encounter: str(tokens.encounter)! } : {}),
      // The banner is on unless the server says the EHR around us already shows who the patient is.
      needPatientBanner: tokens.need_patient_banner !== false,
    });
    // A new session id after sign-in: an id planted in the browser beforehand can never carry someone's tokens.
    reply.setCookie(SESSION_COOKIE, session.id, { path: '/', httpOnly: true, sameSite: 'lax', secure });
    // Away from the URL with the code in it, so a reload does not try to use the code twice.
    return reply.redirect('/record');
  });

  app.get('/record', async (req, reply) => {
    const session = sessionOf(req);
    if (!session) return reply.redirect('/');
    try {
      const record = await withAccessToken(session, oauth, freshness, (accessToken) =>
        loadRecord({
          fhirBaseUrl,
          accessToken,
          patient: session.patient,
          // Without `scope` in the response the server granted what was asked (RFC 6749 §5.1).
          grantedScope: session.tokens.scope ?? DATA_SCOPES.join(' '),
          maxPages: options.maxPages ?? 10,
        }),
      );
      return page(
        reply,
        200,
        recordPage({
          record,
          patientId: session.patient,
          needPatientBanner: session.needPatientBanner,
          ...(session.encounter ? { encounter: session.encounter } : {}),
          grantedScope: session.tokens.scope ?? DATA_SCOPES.join(' '),
          ...(session.tokens.expires_at ? { accessTokenExpiresAt: new Date(session.tokens.expires_at) } : {}),
          today: new Date(),
        }),
      );
    } catch (err) {
      if (!(err instanceof ConnectionEnded)) throw err;
      req.log.info({ reason: err.message }, 'connection ended');
      endSession(req, reply);
      return page(reply, 200, messagePage({ title: 'Your connection ended', paragraphs: ['This app can no longer see the health record: access was removed, or it ran out.', 'Connect again to choose what to share.'], connectAgain: true }));
    }
  });

  app.post('/sign-out', async (req, reply) => {
    // Forgets the tokens here. The patient removes the app's access itself from their health record's connected apps.
    endSession(req, reply);
    return reply.redirect('/', 303);
  });

  app.setNotFoundHandler(async (_req, reply) => page(reply, 404, messagePage({ title: 'Page not found', paragraphs: ['There is nothing at this address.'], connectAgain: false })));
  app.setErrorHandler(async (err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return page(reply, status, messagePage({ title: 'That did not work', paragraphs: [(err as Error).message] }));
    // Never a stack trace in the page: the details go to the log.
    req.log.error({ err }, 'request failed');
    return page(reply, 502, messagePage({ title: 'Something went wrong', paragraphs: ['The app could not reach your health record just now. Please try again in a moment.'], connectAgain: true }));
  });
  return app;
}
