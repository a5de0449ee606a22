import { expect } from 'chai';
import { StatusLine } from '../src/status-line.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { written: string } {
  const stream = { isTTY, written: '', write: (text: string) => ((stream.written += text), true) };
  return stream as unknown as NodeJS.WriteStream & { written: string };
}

describe('StatusLine', () => {
  const facts = { state: 'online', runningTasks: 1, capacity: 4, server: 'https://foundation.example.com' };

  it('rewrites one line on a terminal', () => {
    const stream = fakeStream(true);
    const line = new StatusLine(stream);
    line.show(facts);
    line.show(facts);
    line.show({ ...facts, runningTasks: 2 });
    line.end();
    expect(stream.written).to.equal(
      '\r\x1b[2Konline · 1/4 tasks · server https://foundation.example.com\r\x1b[2Konline · 2/4 tasks · server https://foundation.example.com\n',
    );
  });

  it('writes nothing when stderr is not a terminal', () => {
    const stream = fakeStream(false);
    const line = new StatusLine(stream);
    line.show(facts);
    line.end();
    expect(stream.written).to.equal('');
  });
});
