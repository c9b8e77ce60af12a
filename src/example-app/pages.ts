// The app's small pages: the shared layout, the start page and the message pages (denied, refused launch, connection
// ended). No client-side script: links and one form are all the interaction there is.
import { html, type SafeHtml } from './html.js';

export const APP_NAME = 'Example Lab Viewer';

export interface LayoutOptions {
  readonly title: string;
  /** Shows the Sign out button */
  readonly signedIn?: boolean;
}

export function layout(opts: LayoutOptions, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} – ${APP_NAME}</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header">
  <div class="wrap">
    <a class="brand" href="/">${APP_NAME}</a>
    ${opts.signedIn ? html`<form method="post" action="/sign-out"><button type="submit" class="link-button">Sign out</button></form>` : ''}
  </div>
</header>
<main id="main" class="wrap">
${body}
</main>
<footer class="site-footer"><div class="wrap"><p>An example SMART on FHIR app. It keeps nothing after you sign out.</p></div></footer>
</body>
</html>
`.value;
}

export function homePage(fhirBaseUrl: string): string {
  return layout(
    { title: 'Connect your health record' },
    html`<h1>Connect your health record</h1>
<p>See your lab results over time as graphs, with your vital signs, medicines, allergies and immunizations.</p>
<p>You will sign in at your health record's website and choose what to share. You can change your mind there at any time.</p>
<p><a class="button" href="/connect">Connect your health record</a></p>
<p class="hint">Health record server: <code>${fhirBaseUrl}</code></p>`,
  );
}

export interface MessagePageOptions {
  readonly title: string;
  readonly paragraphs: readonly string[];
  /** Offer "Connect again" (the start of a standalone launch) */
  readonly connectAgain?: boolean;
  /** Technical detail for the developer, shown small (e.g. the OAuth error code) */
  readonly detail?: string;
}

export function messagePage(opts: MessagePageOptions): string {
  return layout(
    { title: opts.title },
    html`<h1>${opts.title}</h1>
${opts.paragraphs.map((p) => html`<p>${p}</p>`)}
${opts.detail ? html`<p class="hint">Details: <code>${opts.detail}</code></p>` : ''}
${opts.connectAgain ? html`<p><a class="button" href="/connect">Connect again</a></p>` : ''}`,
  );
}
