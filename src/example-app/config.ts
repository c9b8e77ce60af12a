// The example app's settings, from the environment. Every one has a default that works with `npm start`.

export interface ExampleAppConfig {
  readonly port: number;
  /** The one FHIR server this app connects to; an EHR launch naming another `iss` is refused */
  readonly fhirBaseUrl: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  /** The origin browsers use to reach this app; the redirect URI is `${publicUrl}/callback` */
  readonly publicUrl: string;
}

const httpUrl = (value: string): boolean => {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
};

export function loadExampleAppConfig(env: Readonly<Record<string, string | undefined>>): ExampleAppConfig {
  const problems: string[] = [];
  const portText = env.PORT ?? '8081';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) problems.push(`PORT must be a port number (0-65535), not "${portText}"`);
  const fhirBaseUrl = (env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir').replace(/\/+$/, '');
  if (!httpUrl(fhirBaseUrl)) problems.push(`FHIR_BASE_URL must be an http(s) URL, not "${fhirBaseUrl}"`);
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${portText}`).replace(/\/+$/, '');
  if (!httpUrl(publicUrl)) problems.push(`PUBLIC_URL must be an http(s) URL, not "${publicUrl}"`);
  const clientId = env.CLIENT_ID ?? 'example-app';
  if (!clientId) problems.push('CLIENT_ID must not be empty');
  if (problems.length) throw new Error(`Invalid configuration:\n- ${problems.join('\n- ')}`);
  return { port, fhirBaseUrl, clientId, publicUrl, ...(env.CLIENT_SECRET ? { clientSecret: env.CLIENT_SECRET } : {}) };
}
