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

  it('waits without a timeout for Infinity, until a wake-up', async () => {
    const wakeup = new Wakeup();
    let woken = false;
    const waiting = wakeup.next(Infinity, never).then(() => (woken = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(woken).to.equal(false);
    wakeup.wake();
    await waiting;
    expect(woken).to.equal(true);
  });

  it('returns at once when the signal has already aborted', async () => {
    const wakeup = new Wakeup();
    const started = Date.now();
    await wakeup.next(Infinity, AbortSignal.abort());
    expect(Date.now() - started).to.be.below(100);
  });
});
