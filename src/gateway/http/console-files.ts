import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** What the web console's build writes and its route serves: URL name -> file and type. */
export const CONSOLE_FILES = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  customer: { file: 'customer.html', type: 'text/html; charset=utf-8' },
  agent: { file: 'agent.html', type: 'text/html; charset=utf-8' },
  'console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  'console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
} as const satisfies Record<string, { file: string; type: string }>
export type ConsoleFileName = keyof typeof CONSOLE_FILES

/** Where the console is served from. */
export const CONSOLE_PREFIX = '/console'

/**
 * The package's root: the nearest directory above `from` holding package.json. The same for the
 * sources (src/gateway/http) and the compiled server (dist/src/gateway/http).
 */
export function packageRoot(from: string = __dirname): string {
  let dir = from
  for (let i = 0; i < 10; i += 1) {
    if (existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return from
}

/** Where `scripts/build-console.ts` writes the console and the route reads it: dist/console. */
export const DEFAULT_CONSOLE_DIR = join(packageRoot(), 'dist', 'console')
