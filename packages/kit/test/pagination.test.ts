import { Code, ConnectError } from '@connectrpc/connect';
import { pageOf, readPage, reasonOf } from '@foundation/kit';
import { expect } from 'chai';

describe('readPage() and pageOf()', () => {
  it('defaults the size and walks a list with the tokens it issues', () => {
    expect(readPage(undefined)).to.deep.equal({ limit: 50 });
    const rows = ['a', 'b', 'c'].map((letter) => ({ id: `00000000-0000-7000-8000-00000000000${letter}` }));
    const first = pageOf(rows.slice(0, 3), readPage({ pageSize: 2, pageToken: '' } as never), (r) => ({ key: r.id, id: r.id }));
    expect(first.items).to.deep.equal(rows.slice(0, 2));
    const b = rows[1]!.id;
    expect(readPage({ pageSize: 2, pageToken: first.nextPageToken } as never)).to.deep.equal({ limit: 2, after: { key: b, id: b } });
    const last = pageOf(rows.slice(2), { limit: 2 }, (r) => ({ key: r.id, id: r.id }));
    expect(last.nextPageToken).to.equal('');
  });

  it('refuses sizes out of range and tokens it did not issue', () => {
    for (const page of [{ pageSize: 201, pageToken: '' }, { pageSize: -1, pageToken: '' }, { pageSize: 0, pageToken: 'bm9wZQ' }]) {
      const error = ConnectError.from((() => {
        try {
          readPage(page as never);
        } catch (e) {
          return e;
        }
        return new Error('accepted');
      })());
      expect(error.code).to.equal(Code.InvalidArgument);
      expect(reasonOf(error)).to.equal('INVALID_FIELD');
    }
  });
});
