/**
 * Structured logs: one JSON object per line, so Workers Logs (`[observability]` in wrangler.toml)
 * can filter and count by field. Tokens never appear: no caller passes one, and as a last line
 * of defence anything shaped like a JWT, and any field named like a credential, is blanked.
 */
export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]*/g;
const SECRET_FIELD = /token|authorization|secret|password/i;

/** The line as it is written: JSON, credentials blanked. */
export function logLine(level: LogLevel, msg: string, fields: LogFields): string {
  const clean: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    clean[key] = SECRET_FIELD.test(key)
      ? "[redacted]"
      : typeof value === "string"
        ? value.replace(JWT, "[jwt]")
        : value;
  }
  return JSON.stringify({ level, msg: msg.replace(JWT, "[jwt]"), ...clean });
}

export function log(level: LogLevel, msg: string, fields: LogFields = {}): void {
  const line = logLine(level, msg, fields);
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** A logger that adds the same fields (which room, which merchant) to every line. */
export function logger(context: () => LogFields) {
  return (level: LogLevel, msg: string, fields: LogFields = {}) => log(level, msg, { ...context(), ...fields });
}

/** An error as a log field: its message. */
export function errorField(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}

/** Where an unexpected error came from (for bugs, not for refusals). */
export function stackField(err: unknown): string | undefined {
  return err instanceof Error ? err.stack?.slice(0, 2000) : undefined;
}
