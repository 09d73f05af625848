import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { build } from 'esbuild'
import { DEFAULT_CONSOLE_DIR, packageRoot } from '../src/gateway/http/console-files'

/**
 * Builds the web console (src/console) into static files: console.js (preact, the client SDK and
 * the pages, one bundle), console.css and one HTML file per page. `npm run build` runs it; the
 * browser tests call `buildConsole()` themselves so they never depend on a manual build.
 */

const root = packageRoot(__dirname)
const source = join(root, 'src', 'console')

/** The HTML pages: file name -> page id (read by main.tsx) and title. */
const PAGES = {
  'index.html': { page: 'index', title: 'Parley console' },
  'customer.html': { page: 'customer', title: 'Parley: customer' },
  'agent.html': { page: 'agent', title: 'Parley: agent desk' },
} as const

function html(page: string, title: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title>`,
    '<link rel="stylesheet" href="/console/console.css">',
    '<script defer src="/console/console.js"></script>',
    '</head>',
    `<body data-page="${page}"><main id="app"><p class="boot">Loading…</p></main></body>`,
    '</html>',
    '',
  ].join('\n')
}

/** Writes a file through a temporary name, so a server reading meanwhile never sees half. */
function writeAtomically(path: string, contents: Uint8Array | string): void {
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, contents)
  renameSync(temporary, path)
}

/** Builds the console into `outDir` (default: dist/console) and lists the files written. */
export async function buildConsole(outDir: string = DEFAULT_CONSOLE_DIR): Promise<string[]> {
  mkdirSync(outDir, { recursive: true })
  const result = await build({
    entryPoints: [
      { in: join(source, 'main.tsx'), out: 'console' },
      { in: join(source, 'console.css'), out: 'console' },
    ],
    outdir: outDir,
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  })

  const written: string[] = []
  for (const file of result.outputFiles) {
    writeAtomically(file.path, file.contents)
    written.push(basename(file.path))
  }
  for (const [name, { page, title }] of Object.entries(PAGES)) {
    writeAtomically(join(outDir, name), html(page, title))
    written.push(name)
  }
  return written.sort()
}

if (require.main === module) {
  const outDir = process.argv[2] ?? DEFAULT_CONSOLE_DIR
  buildConsole(outDir).then(
    (files) => process.stdout.write(`console built in ${outDir}: ${files.join(', ')}\n`),
    (err: unknown) => {
      process.stderr.write(`console build failed: ${err instanceof Error ? err.message : err}\n`)
      process.exitCode = 1
    },
  )
}
