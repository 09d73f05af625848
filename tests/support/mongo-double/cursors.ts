import type { Document } from 'bson'
import { CommandError } from './state'

/** Open cursors by id; each holds the documents not yet returned. */
export class Cursors {
  private next = 1
  private readonly open = new Map<number, { ns: string; docs: Document[] }>()

  /** The first batch and the id to fetch the rest with (0 when there is none). */
  start(ns: string, docs: Document[], batchSize: number | undefined, single = false) {
    const size = batchSize ?? docs.length
    const first = docs.slice(0, size)
    if (single || size >= docs.length) return { id: 0, first }
    const id = this.next++
    this.open.set(id, { ns, docs: docs.slice(size) })
    return { id, first }
  }

  more(id: number, batchSize: number | undefined): { ns: string; batch: Document[]; id: number } {
    const cursor = this.open.get(id)
    if (cursor === undefined)
      throw new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`)
    const batch = cursor.docs.splice(0, batchSize ?? cursor.docs.length)
    if (cursor.docs.length === 0) this.open.delete(id)
    return { ns: cursor.ns, batch, id: cursor.docs.length === 0 ? 0 : id }
  }

  kill(ids: number[]): number[] {
    return ids.filter((id) => this.open.delete(id))
  }
}
