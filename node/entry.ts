/**
 * Entry of the bundled `instar` binary (dist/cli/instar.mjs): the polyfills first, since libp2p
 * needs Promise.withResolvers and Node 20 lacks it; then the CLI.
 */
import './polyfills.js'
import './main.js'
