import { expect } from 'chai';
import { ReconnectBackoff } from '../src/reconnect-backoff.js';

describe('ReconnectBackoff', () => {
  it('doubles the ceiling from the initial delay up to the cap', () => {
    const backoff = new ReconnectBackoff({ initialDelayMs: 500, maxDelayMs: 30_000, random: () => 0.999999 });
    const delays = Array.from({ length: 10 }, () => backoff.nextDelayMs());
    expect(delays).to.deep.equal([499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]);
  });

  it('draws every delay uniformly between 0 and the ceiling (full jitter)', () => {
    const draws = [0, 0.25, 0.5, 0.75];
    let i = 0;
    const backoff = new ReconnectBackoff({ initialDelayMs: 1000, maxDelayMs: 1000, random: () => draws[i++ % draws.length]! });
    expect(Array.from({ length: 4 }, () => backoff.nextDelayMs())).to.deep.equal([0, 250, 500, 750]);
  });

  it('never waits longer than the cap, however many attempts fail', () => {
    const backoff = new ReconnectBackoff({ initialDelayMs: 500, maxDelayMs: 30_000 });
    for (let attempt = 0; attempt < 2000; attempt += 1) {
      const delay = backoff.nextDelayMs();
      expect(delay).to.be.at.least(0).and.below(30_000);
    }
    expect(backoff.ceilingMs).to.equal(30_000);
  });

  it('spreads the delays of many nodes cut off at once', () => {
    const delays = Array.from({ length: 1000 }, () => new ReconnectBackoff({ initialDelayMs: 8000, maxDelayMs: 8000 }).nextDelayMs());
    const buckets = [0, 0, 0, 0];
    for (const delay of delays) buckets[Math.floor(delay / 2000)]! += 1;
    for (const count of buckets) expect(count).to.be.within(150, 350);
  });

  it('starts from the shortest wait again after reset', () => {
    const backoff = new ReconnectBackoff({ initialDelayMs: 500, maxDelayMs: 30_000, random: () => 0.5 });
    for (let i = 0; i < 6; i += 1) backoff.nextDelayMs();
    backoff.reset();
    expect(backoff.ceilingMs).to.equal(500);
    expect(backoff.nextDelayMs()).to.equal(250);
  });
});
