/**
 * Explicit resource management (`using` / `await using`, TypeScript 5.2+): the symbols, and the
 * set of resources a model disposes with itself.
 */

// Node defines Symbol.dispose / Symbol.asyncDispose from 18.18 and 20.4 on; the package supports
// older 18.x too, where TypeScript's `using` helper would throw "Symbol.dispose is not defined".
// Define them there as the same registered symbols Node uses, so code compiled against either sees one symbol.
for (const [name, key] of [
  ['dispose', 'nodejs.dispose'],
  ['asyncDispose', 'nodejs.asyncDispose'],
] as const) {
  if ((Symbol as unknown as Record<string, symbol | undefined>)[name] === undefined) Object.defineProperty(Symbol, name, { value: Symbol.for(key) });
}

/** Anything with a synchronous dispose(). */
export interface DisposableResource {
  dispose(): void;
}

/**
 * Resources a model created (states, chat sessions, batchers), held weakly so that one the caller
 * forgets can still be collected (its finalizer frees it); disposeAll() disposes the live ones.
 */
export class OwnedResources {
  private readonly refs = new Set<WeakRef<DisposableResource>>();
  private sweepAt = 64;

  add(resource: DisposableResource): void {
    this.refs.add(new WeakRef(resource));
    if (this.refs.size >= this.sweepAt) {
      for (const r of this.refs) if (r.deref() === undefined) this.refs.delete(r);
      this.sweepAt = Math.max(64, this.refs.size * 2);
    }
  }

  /** Disposes every live resource, in creation order (sessions before their states do not matter: dispose is idempotent). */
  disposeAll(): void {
    const live = [...this.refs].map((r) => r.deref()).filter((r): r is DisposableResource => r !== undefined);
    this.refs.clear();
    for (const r of live) r.dispose();
  }
}
