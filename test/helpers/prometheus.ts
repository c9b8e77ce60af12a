// A strict reader of the Prometheus text exposition format (version 0.0.4): every line must be a HELP, a TYPE or a
// sample of a declared family, label values must be properly escaped, values must be numbers. It throws on the first
// line that is not, naming it; tests then look samples up by name and labels.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  /** family name → its TYPE */
  readonly types: ReadonlyMap<string, string>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const VALUE_STR = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
// As Prometheus reads it (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan").
const NUMBER = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?[Ii][Nn][Ff]|[Nn][Aa][Nn])';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL}=${VALUE_STR})(?:,${LABEL}=${VALUE_STR})*,?)?\\})? (${NUMBER})(?: -?\\d+)?$`);
const PAIR = new RegExp(`(${LABEL})=(${VALUE_STR})`, 'g');
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SUFFIXES: Record<string, readonly string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

const unescape = (quoted: string) => quoted.slice(1, -1).replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the exposition must end with a newline');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    // The format ignores empty lines (prom-client puts one between families).
    if (line === '') return;
    if (line.startsWith('#')) {
      const type = TYPE.exec(line);
      if (type) {
        if (types.has(type[1]!)) throw new Error(`TYPE given twice for ${type[1]} at ${where}`);
        types.set(type[1]!, type[2]!);
      } else if (!HELP.test(line)) throw new Error(`not a HELP or TYPE line at ${where}`);
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample at ${where}`);
    const name = m[1]!;
    const family = [...types.entries()].find(([f, t]) => (SUFFIXES[t] ?? ['']).some((s) => name === f + s));
    if (!family) throw new Error(`sample of an undeclared family at ${where}`);
    const labels: Record<string, string> = {};
    for (const p of (m[2] ?? '').matchAll(PAIR)) {
      if (p[1]! in labels) throw new Error(`label ${p[1]} twice at ${where}`);
      labels[p[1]!] = unescape(p[2]!);
    }
    if (family[1] === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) throw new Error(`bucket without le at ${where}`);
    const raw = m[3]!;
    samples.push({ name, labels, value: /inf$/i.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : /nan/i.test(raw) ? NaN : Number(raw) });
  });
  return { samples, types };
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
export function sampleSum(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return e.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Whether any sample of `name` exists with these labels. */
export function hasSample(e: Exposition, name: string, labels: Record<string, string> = {}): boolean {
  return e.samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}
