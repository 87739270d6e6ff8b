/** Benchmarks print one JSON line per figure: {"bench","metric","value","unit"}. */
export function report(bench: string, metric: string, value: number, unit: string): void {
  process.stdout.write(`${JSON.stringify({ bench, metric, value: Math.round(value * 100) / 100, unit })}\n`)
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? Number.NaN
}
