import { expect } from 'chai';
import { Wakeup } from '../src/wakeup.js';

describe('Wakeup', () => {
  const never = new AbortController().signal;

  it('returns at once for a wake-up that came while nobody waited, and only once', async () => {
    const wakeup = new Wakeup();
    wakeup.wake();
    const started = Date.now();
    await wakeup.next(5_000, never);
    expect(Date.now() - started).to.be.below(100);
    const again = Date.now();
    await wakeup.next(50, never);
    expect(Date.now() - again).to.be.at.least(45);
  });

  it('returns on a wake-up while waiting', async () => {
    const wakeup = new Wakeup();
    setTimeout(() => wakeup.wake(), 20);
    const started = Date.now();
    await wakeup.next(5_000, never);
    expect(Date.now() - started).to.be.below(1_000);
  });

  it('returns when the signal aborts', async () => {
    const wakeup = new Wakeup();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 20);
    const started = Date.now();
    await wakeup.next(5_000, abort.signal);
    expect(Date.now() - started).to.be.below(1_000);
  });
});
