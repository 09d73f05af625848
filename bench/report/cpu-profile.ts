import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

/** Functions listed per profile: 25. */
export const TOP_FUNCTIONS = 25

interface CpuProfile {
  nodes: {
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number }
    children?: number[]
  }[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface SelfTime {
  name: string
  /** Self time in ms and as a share of the busy (non-idle) time. */
  selfMs: number
  busyShare: number
}

export interface ProfileSummary {
  scenario: string
  file: string
  /** What the summary covers: the whole process, or the measured window only. */
  span: string
  totalMs: number
  idleMs: number
  /** The functions with the most self time. */
  functions: SelfTime[]
  /** Self time by area: a src/ folder, an npm package, node internals, GC, native code. */
  areas: SelfTime[]
  /**
   * Self time charged to the innermost Parley (src/) function on the stack: library and native
   * time (a SQLite commit, a JSON.parse) lands on the Parley code that asked for it.
   */
  owners: SelfTime[]
}

/** A window on the monotonic clock (µs), the clock V8 stamps profile samples with. */
export interface ProfileWindow {
  from: number
  to: number
  label: string
}

/**
 * Self time per function and per area of a V8 .cpuprofile (node --cpu-prof): each sample's
 * time delta goes to the function on top of the stack at that sample. With a window, only the
 * samples inside it count, so start-up and set-up do not blur the steady state.
 */
export function summarizeProfile(
  path: string,
  scenario: string,
  window?: ProfileWindow,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parents = new Map<number, number>()
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parents.set(child, node.id)
  const functions = new Map<string, number>()
  const areas = new Map<string, number>()
  const owners = new Map<string, number>()
  const ownerOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const frame = byId.get(at)?.callFrame
      if (frame && frame.url.includes('/src/')) return nameOf(frame)
    }
    return '(outside src/: sockets, timers, GC)'
  }
  let idleMicros = 0

  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)
    const micros = profile.timeDeltas[i] ?? 0
    at += micros
    if (window && (at < window.from || at > window.to)) return
    if (!node || micros <= 0) return
    const { functionName, url } = node.callFrame
    if (functionName === '(idle)') {
      idleMicros += micros
      return
    }
    const name = nameOf(node.callFrame)
    functions.set(name, (functions.get(name) ?? 0) + micros)
    const area = areaOf(functionName, url)
    areas.set(area, (areas.get(area) ?? 0) + micros)
    const owner = ownerOf(id)
    owners.set(owner, (owners.get(owner) ?? 0) + micros)
  })

  const totalMicros = window
    ? Math.min(window.to, profile.endTime) - Math.max(window.from, profile.startTime)
    : profile.endTime - profile.startTime
  const busy = Math.max(1, totalMicros - idleMicros)
  const ranked = (m: Map<string, number>, limit: number): SelfTime[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, micros]) => ({
        name,
        selfMs: Math.round(micros / 100) / 10,
        busyShare: Math.round((micros / busy) * 1000) / 1000,
      }))

  return {
    scenario,
    file: basename(path),
    span: window?.label ?? 'whole process',
    totalMs: Math.round(totalMicros / 1000),
    idleMs: Math.round(idleMicros / 1000),
    functions: ranked(functions, TOP_FUNCTIONS),
    areas: ranked(areas, 20),
    owners: ranked(owners, TOP_FUNCTIONS),
  }
}

function nameOf(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const where = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''
  return `${frame.functionName || '(anonymous)'}${where}`
}

/** A path short enough to read: from dist/src or node_modules on, or a node: module. */
function shortUrl(url: string): string {
  const src = url.indexOf('/dist/src/')
  if (src !== -1) return url.slice(src + '/dist/'.length)
  const bench = url.indexOf('/dist/bench/')
  if (bench !== -1) return url.slice(bench + '/dist/'.length)
  const modules = url.lastIndexOf('/node_modules/')
  if (modules !== -1) return url.slice(modules + '/node_modules/'.length)
  return url.replace(/^file:\/\//, '')
}

function areaOf(functionName: string, url: string): string {
  if (functionName.startsWith('(') && !url) return functionName
  if (!url) return '(native: sqlite, JSON, sockets)'
  const short = shortUrl(url)
  if (short.startsWith('node:')) return short.split('/')[0]
  if (url.includes('/node_modules/')) {
    const parts = short.split('/')
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  const parts = short.split('/')
  return parts.slice(0, Math.min(parts.length - 1, 3)).join('/') || short
}
