/**
 * A counting semaphore over an amount (bytes, slots). A request larger than the
 * whole capacity is admitted alone, so one huge item can never deadlock.
 */
export class Semaphore {
  private used = 0;
  private readonly waiters: Array<{ amount: number; resolve: () => void }> = [];

  constructor(private readonly capacity: number) {}

  async acquire(amount = 1): Promise<void> {
    if (this.fits(amount) && this.waiters.length === 0) {
      this.used += amount;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push({ amount, resolve }));
  }

  release(amount = 1): void {
    this.used -= amount;
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.amount)) {
      const w = this.waiters.shift()!;
      this.used += w.amount;
      w.resolve();
    }
  }

  async with<T>(amount: number, fn: () => Promise<T>): Promise<T> {
    await this.acquire(amount);
    try {
      return await fn();
    } finally {
      this.release(amount);
    }
  }

  private fits(amount: number): boolean {
    return this.used === 0 || this.used + amount <= this.capacity;
  }
}
