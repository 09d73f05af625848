/**
 * Runs tasks one at a time per key, in arrival order, and different keys concurrently. Commands
 * for one stream go through it so that a node does not race itself for the stream's revision;
 * the event store's optimistic concurrency still guards against other nodes.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    const result = previous.then(task, task)
    const tail = result.then(
      () => undefined,
      () => undefined,
    )
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }
}
