// Drop and event counters, by name ("ipv4.badChecksum"). Cheap enough for drop paths; the
// hot path counts nothing.
export class Stats {
  readonly counts = new Map<string, number>();
  inc(name: string, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort());
  }
}
