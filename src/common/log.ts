/**
 * Process logging: one line per event on stderr, `<level> <iso time> <component>] <message>`.
 * Levels below `SAX_LOG_LEVEL` (debug|info|warn|error, default info) are dropped.
 */

const LEVELS = { debug: 0, info: 1, warn: 2, error: 3 } as const;

/** A log level name. */
export type LogLevel = keyof typeof LEVELS;

/** A component's logger. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

function thresholdFromEnv(): number {
  const name = process.env.SAX_LOG_LEVEL as LogLevel | undefined;
  return name !== undefined && name in LEVELS ? LEVELS[name] : LEVELS.info;
}

/** Returns a logger whose lines are tagged with `component`. */
export function createLogger(component: string): Logger {
  const threshold = thresholdFromEnv();
  const emit = (level: LogLevel) => (message: string) => {
    if (LEVELS[level] < threshold) return;
    process.stderr.write(`${level[0]!.toUpperCase()} ${new Date().toISOString()} ${component}] ${message}\n`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
