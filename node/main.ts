/** Entry of the `instar` binary (after the polyfills are loaded). */
import { runCli } from './cli.js'

const code = await runCli(process.argv.slice(2))
process.exitCode = code
