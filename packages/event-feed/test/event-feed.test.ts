import { startRedisServer, type RedisServerProcess } from '@foundation/cli';
import { createLogger } from '@foundation/kit';
import { commandConnection } from '@foundation/run-queue';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { EventFeed } from '../src/event-feed.js';

/** Counts a listener's calls and lets a test wait for the next one. */
class Heard {
  count = 0;
  #waiters: (() => void)[] = [];
  readonly listener = () => {
    this.count++;
    this.#waiters.splice(0).forEach((w) => w());
  };

  next(timeoutMs = 2_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no notification within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

describe('EventFeed', () => {
  let redis: RedisServerProcess;
  let publisher: Redis;
  const logLines: string[] = [];
  const log = createLogger({ level: 'info', target: 'test', destination: { write: (line: string) => void logLines.push(line) } });
  const feeds: EventFeed[] = [];
  const feed = async (prefix = 'test:feed:') => {
    const created = new EventFeed(publisher, redis.url, prefix, log);
    await created.connect();
    feeds.push(created);
    return created;
  };

  before(async () => {
    redis = await startRedisServer();
    publisher = commandConnection(redis.url);
    await publisher.connect();
  });
  afterEach(() => feeds.splice(0).forEach((f) => f.close()));
  after(async () => {
    publisher?.disconnect();
    await redis?.stop();
  });

  it('wakes every listener of an id once its subscription is ready', async () => {
    const events = await feed();
    const [a, b] = [new Heard(), new Heard()];
    const first = events.subscribe('log-1', a.listener);
    const second = events.subscribe('log-1', b.listener);
    await Promise.all([first.ready, second.ready]);
    const heard = Promise.all([a.next(), b.next()]);
    events.notify('log-1', 7);
    await heard;
    expect([a.count, b.count]).to.deep.equal([1, 1]);
  });

  it('wakes a listener of another EventFeed (another process): notifications go through Redis', async () => {
    const [writer, reader] = [await feed(), await feed()];
    const heard = new Heard();
    await reader.subscribe('log-2', heard.listener).ready;
    const next = heard.next();
    writer.notify('log-2', 1);
    await next;
  });

  it('keeps ids and channel prefixes apart', async () => {
    const [runs, sessions] = [await feed('test:runs:'), await feed('test:sessions:')];
    const [run, session, otherRun] = [new Heard(), new Heard(), new Heard()];
    await Promise.all([runs.subscribe('same-id', run.listener).ready, sessions.subscribe('same-id', session.listener).ready, runs.subscribe('other-id', otherRun.listener).ready]);
    const next = session.next();
    sessions.notify('same-id', 1);
    await next;
    // Notifications of one channel arrive in order: once the later one is heard, the earlier one was not missed.
    const sync = otherRun.next();
    runs.notify('other-id', 1);
    await sync;
    expect([run.count, session.count, otherRun.count]).to.deep.equal([0, 1, 1]);
  });

  it('stops calling a listener after unsubscribe, and keeps the others of the id', async () => {
    const events = await feed();
    const [gone, staying] = [new Heard(), new Heard()];
    const first = events.subscribe('log-3', gone.listener);
    const second = events.subscribe('log-3', staying.listener);
    await Promise.all([first.ready, second.ready]);
    first.unsubscribe();
    const next = staying.next();
    events.notify('log-3', 1);
    await next;
    expect([gone.count, staying.count]).to.deep.equal([0, 1]);
  });

  it('subscribes again after the last listener of an id left', async () => {
    const events = await feed();
    const before = new Heard();
    const first = events.subscribe('log-4', before.listener);
    await first.ready;
    first.unsubscribe();
    const after = new Heard();
    await events.subscribe('log-4', after.listener).ready;
    const next = after.next();
    events.notify('log-4', 2);
    await next;
    expect([before.count, after.count]).to.deep.equal([0, 1]);
  });

  it('logs a notification Redis did not take instead of failing the caller', async () => {
    const closed = commandConnection('redis://127.0.0.1:1');
    const events = new EventFeed(closed, redis.url, 'test:feed:', log);
    try {
      logLines.length = 0;
      events.notify('log-5', 3);
      for (let i = 0; i < 50 && logLines.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(logLines.join('\n')).to.contain('could not announce new events; watchers will poll').and.contain('test:feed:log-5');
    } finally {
      events.close();
      closed.disconnect();
    }
  });
});
