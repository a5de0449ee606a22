import { expect } from 'chai';
import { TtlCache } from '../src/ttl-cache.js';

describe('TtlCache', () => {
  it('keeps a value until its time to live has passed', () => {
    let now = 0;
    const cache = new TtlCache<string>(1000, 10, () => now);
    cache.set('k', 'v');
    now = 999;
    expect(cache.get('k')).to.equal('v');
    now = 1000;
    expect(cache.get('k')).to.equal(undefined);
  });

  it('drops the oldest entry when full', () => {
    const cache = new TtlCache<number>(1000, 2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).to.deep.equal([undefined, 2, 3]);
  });

  describe('getOrLoad', () => {
    it('loads a missing value once for all the callers that miss it at the same time, and keeps it', async () => {
      const cache = new TtlCache<string>(1000);
      let loads = 0;
      let release!: (value: string) => void;
      const load = () => {
        loads++;
        return new Promise<string>((resolve) => (release = resolve));
      };
      const waiting = Array.from({ length: 32 }, () => cache.getOrLoad('k', load));
      await new Promise((resolve) => setImmediate(resolve));
      release('v');
      expect(await Promise.all(waiting)).to.deep.equal(Array(32).fill('v'));
      expect(await cache.getOrLoad('k', load)).to.equal('v');
      expect(loads).to.equal(1);
    });

    it('loads again once the value has expired', async () => {
      let now = 0;
      const cache = new TtlCache<number>(1000, 10, () => now);
      let loads = 0;
      const load = async () => ++loads;
      expect(await cache.getOrLoad('k', load)).to.equal(1);
      now = 1000;
      expect(await cache.getOrLoad('k', load)).to.equal(2);
    });

    it('gives every waiting caller the failure of a load and keeps nothing, so the next call loads again', async () => {
      const cache = new TtlCache<string>(1000);
      let loads = 0;
      const failing = async () => {
        loads++;
        throw new Error('not a member');
      };
      const results = await Promise.allSettled([cache.getOrLoad('k', failing), cache.getOrLoad('k', failing)]);
      expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
      expect(loads).to.equal(1);
      expect(await cache.getOrLoad('k', async () => 'v')).to.equal('v');
    });

    it('reports a load that throws before returning a promise as a rejection', async () => {
      const cache = new TtlCache<string>(1000);
      const throwing = (): Promise<string> => {
        throw new Error('synchronous');
      };
      let failure: unknown;
      await cache.getOrLoad('k', throwing).catch((e: unknown) => (failure = e));
      expect((failure as Error).message).to.equal('synchronous');
      expect(await cache.getOrLoad('k', async () => 'v')).to.equal('v');
    });
  });
});
