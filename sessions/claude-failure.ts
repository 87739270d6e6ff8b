/**
 * What an error result or a dead process of Claude Code means for us. The CLI reports a
 * missing login and a usage limit only as text (in the `result` of an error result, or on
 * stderr), so this is the one place that reads its wording; it is the CLI's, not ours.
 *   not-logged-in  "Invalid API key · Please run /login", "Not logged in", an expired OAuth token
 *   usage-limit    "Claude AI usage limit reached|1767225600" (the reset in Unix seconds), or
 *                  "... limit reached ... resets 3pm" (no reset time we can trust: null)
 * Anything else is a plain failure, named by the result's subtype. Pure.
 */

export type Failure = { kind: 'not-logged-in' } | { kind: 'usage-limit'; resetAt: number | null } | { kind: 'error'; reason: string }

const LOGIN = [/invalid api key/i, /please run \/login/i, /not logged in/i, /oauth token has expired/i, /authentication_error/i]
const LIMIT = /usage limit reached|limit reached|rate_limit_error|out of extra usage/i
const LIMIT_RESET_SECONDS = /limit reached\|(\d{9,11})/i

/** Reads an error result's text (or the tail of stderr, for a process that ended without one). */
export function classifyFailure(text: string, subtype: string): Failure {
  if (LOGIN.some((re) => re.test(text))) return { kind: 'not-logged-in' }
  if (LIMIT.test(text)) {
    const seconds = LIMIT_RESET_SECONDS.exec(text)?.[1]
    return { kind: 'usage-limit', resetAt: seconds === undefined ? null : Number(seconds) * 1000 }
  }
  return { kind: 'error', reason: subtype === '' ? 'it reported an error' : `it reported ${subtype}` }
}
