/** Shared test imports: the identity door plus small helpers. Not a test file itself. */
export * from '../../identity/index.js'

export function utf8Bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

/** The `code` of what run throws, or undefined when it does not throw. */
export function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}
