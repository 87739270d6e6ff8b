/**
 * The node's logger: pino JSON lines on stderr (a detached node's stderr is logs/node.log).
 * Anything that could hold a secret is redacted by path, whatever logs it.
 */
import pino, { type Logger } from 'pino'

export type { Logger }

/** `destination`: a file descriptor (stderr by default), or anything with `write(line)` (a rotating log file). */
export function createLogger(level: string, destination: { write(line: string): unknown } | number = 2): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['token', 'seed', 'secret', 'key', '*.token', '*.seed', '*.secret', '*.key', 'headers.authorization', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : (destination as pino.DestinationStream),
  )
}
