import { startTestPlatform } from '@foundation/testing';
describe('dbg', () => {
  it('grpc-web then close', async () => {
    const platform = await startTestPlatform();
    const res = await fetch(new URL('/foundation.meta.v1.MetaService/GetVersion', platform.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
        body: new Uint8Array(5),
      });
    console.log(res.status, [...res.headers], Buffer.from(await res.arrayBuffer()));
    const t = Date.now();
    await platform.close();
    console.log('closed in', Date.now() - t);
  });
});
