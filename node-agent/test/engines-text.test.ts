import { expect } from 'chai';
import { LineFramer } from '../src/engines/line-framer.js';
import { cutUtf8 } from '../src/engines/text-cut.js';
import { diffFromEdits } from '../src/engines/unified-diff.js';

describe('LineFramer', () => {
  it('joins a line split across chunks and drops the CR of CRLF', () => {
    const framer = new LineFramer();
    expect(framer.push(Buffer.from('{"a":'))).to.deep.equal([]);
    expect(framer.push(Buffer.from('1}\r\n{"b"'))).to.deep.equal([{ text: '{"a":1}', truncated: false }]);
    expect(framer.end()).to.deep.equal({ text: '{"b"', truncated: false });
    expect(framer.end()).to.equal(undefined);
  });

  it('keeps only the beginning of a line past its limit, and frames the next line whole', () => {
    const framer = new LineFramer(8);
    expect(framer.push(Buffer.from('0123456789abcdef'))).to.deep.equal([]);
    expect(framer.push(Buffer.from('ghij\nnext\n'))).to.deep.equal([
      { text: '01234567', truncated: true },
      { text: 'next', truncated: false },
    ]);
  });

  it('does not split a multi-byte character cut across chunks', () => {
    const bytes = Buffer.from('héllo\n');
    const framer = new LineFramer();
    expect([...framer.push(bytes.subarray(0, 2)), ...framer.push(bytes.subarray(2))]).to.deep.equal([{ text: 'héllo', truncated: false }]);
  });
});

describe('cutUtf8()', () => {
  it('leaves short text alone', () => {
    expect(cutUtf8('hello', 10)).to.deep.equal({ text: 'hello', truncated: false });
  });

  it('cuts at a character boundary', () => {
    expect(cutUtf8('aé€b', 5)).to.deep.equal({ text: 'aé', truncated: true });
  });
});

describe('diffFromEdits()', () => {
  it('keeps up to three lines of context around the changed lines', () => {
    const diff = diffFromEdits('f.txt', [{ oldText: '1\n2\n3\n4\nold\n5\n', newText: '1\n2\n3\n4\nnew\nnewer\n5\n' }]);
    expect(diff).to.equal('--- a/f.txt\n+++ b/f.txt\n@@ -2,5 +2,6 @@\n 2\n 3\n 4\n-old\n+new\n+newer\n 5\n');
  });

  it('writes a new file against /dev/null', () => {
    expect(diffFromEdits('n.txt', [{ oldText: '', newText: 'a\n' }], true)).to.equal('--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,1 @@\n+a\n');
  });

  it('puts each edit of a MultiEdit in its own hunk', () => {
    const diff = diffFromEdits('m.txt', [
      { oldText: 'a', newText: 'b' },
      { oldText: 'c', newText: 'd' },
    ]);
    expect(diff).to.equal('--- a/m.txt\n+++ b/m.txt\n@@ -1,1 +1,1 @@\n-a\n+b\n@@ -1,1 +1,1 @@\n-c\n+d\n');
  });
});
