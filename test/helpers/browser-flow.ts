// Drives the authorization interaction over real HTTP the way a browser would: follows redirects, keeps cookies,
// submits the sign-in, patient and consent forms. Used by the OAuth tests (the portal issue adds real Chromium tests).

export interface FlowChoices {
  readonly username: string;
  readonly password: string;
  readonly patient?: string;
  /** Permission groups to tick on the consent page (labs, vitals, allergies, ...); default every group offered */
  readonly keepGroups?: (offered: string[]) => string[];
  /** The consent page's "How long" answer (session, 30d, 1y, forever); default 'forever', so apps asking for offline access get it */
  readonly duration?: string;
  readonly decision?: 'allow' | 'deny';
}

export interface FlowResult {
  /** The final redirect to the app (its redirect_uri with code/state or error) */
  readonly callback: URL;
  /** The permission groups the consent page offered */
  readonly offeredGroups: string[];
  readonly pages: string[];
}

export class CookieJar {
  readonly #cookies = new Map<string, string>();
  store(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export async function authorizeInBrowser(authorizeUrl: string, redirectUri: string, choices: FlowChoices, jar = new CookieJar()): Promise<FlowResult> {
  let url = authorizeUrl;
  let method = 'GET';
  let body: string | undefined;
  const pages: string[] = [];
  let offeredGroups: string[] = [];
  for (let hop = 0; hop < 30; hop++) {
    if (url.startsWith(redirectUri)) return { callback: new URL(url), offeredGroups, pages };
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { cookie: jar.header(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body ? { body } : {}),
    });
    jar.store(res);
    method = 'GET';
    body = undefined;
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).toString();
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`unexpected ${res.status} at ${url}: ${html.slice(0, 500)}`);
    pages.push(html);
    const action = /<form class="form" method="post" action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form at ${url}: ${html.slice(0, 500)}`);
    const target = new URL(action.replace(/&amp;/g, '&'), url).toString();
    const form = new URLSearchParams();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (csrf) form.set('_csrf', csrf);
    if (action.endsWith('/login')) {
      form.set('username', choices.username);
      form.set('password', choices.password);
    } else if (action.endsWith('/patient')) {
      const options = [...html.matchAll(/name="patient" id="[^"]*" value="([^"]+)"/g)].map((m) => m[1]!);
      form.set('patient', choices.patient ?? options[0]!);
    } else if (action.endsWith('/consent')) {
      const boxes = [...html.matchAll(/<input[^>]*type="checkbox" name="group"[^>]*value="([^"]+)"([^>]*)>/g)];
      offeredGroups = boxes.map((m) => m[1]!);
      for (const g of choices.keepGroups ? choices.keepGroups(offeredGroups) : offeredGroups) form.append('group', g);
      if (/name="duration"/.test(html)) form.set('duration', choices.duration ?? 'forever');
      form.set('decision', choices.decision ?? 'allow');
    } else throw new Error(`unknown form ${action}`);
    url = target;
    method = 'POST';
    body = form.toString();
  }
  throw new Error('too many redirects');
}
