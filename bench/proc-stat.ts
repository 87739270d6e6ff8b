/** What Linux's /proc says of a process a benchmark started: its CPU time and its resident memory. */
import { readFileSync } from 'node:fs'

/** CPU time (user + system) the process has used, in ms: less at the mercy of a loaded machine than wall time. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The fields after the command name, which may hold spaces: split after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // utime and stime, fields 14 and 15 of stat
  return (ticks * 1000) / 100 // USER_HZ is 100 on Linux
}

/** Resident set size, in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
  return kb / 1024
}
