import { randomUUID } from 'node:crypto';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { GetVersionRequestSchema, GetVersionResponseSchema } from '@foundation/contracts';
import { startTestPlatform, TEST_PASSWORD, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { postConnect } from './support/connect-http.js';
import { callUnary, grpcTarget, loadProtoPackage, serviceClientConstructor } from './support/grpc-js-calls.js';
import { errorInfoOf, expectGrpcError } from './support/grpc-status-details.js';

/** The fields of auth.proto's User and AccessGrant a client reads, as proto-loader decodes them (camelCase). */
interface User {
  id: string;
  email: string;
  displayName: string;
}
interface GrantResponse {
  user: User;
  grant: { accessToken: string };
}

const REFRESH_COOKIE_PATH = '/foundation.auth.v1.AuthService/';

describe('Interoperability with clients that do not use our generated code', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform();
  });
  after(() => platform?.close());

  describe('an @grpc/grpc-js client built from the raw .proto files', () => {
    let auth: grpc.Client;
    before(() => {
      const AuthService = serviceClientConstructor(loadProtoPackage(['foundation/auth/v1/auth.proto']), 'foundation.auth.v1.AuthService');
      auth = new AuthService(grpcTarget(platform.baseUrl), grpc.credentials.createInsecure());
    });
    after(() => auth?.close());

    it('signs up, logs in and reads its account with an authorization Bearer metadata entry', async () => {
      const email = `grpc-js-${randomUUID()}@example.com`;
      const signUp = await callUnary<GrantResponse>(auth, 'SignUp', { email, password: TEST_PASSWORD, displayName: 'Grpc Js' });
      expect(signUp.response.user.email).to.equal(email);
      expect(signUp.response.grant.accessToken.split('.')).to.have.length(3);

      const login = await callUnary<GrantResponse>(auth, 'Login', { email, password: TEST_PASSWORD });
      expect(login.response.user.id).to.equal(signUp.response.user.id);

      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${login.response.grant.accessToken}`);
      const me = await callUnary<{ user: User }>(auth, 'GetMe', {}, metadata);
      expect(me.response.user).to.include({ id: signUp.response.user.id, email, displayName: 'Grpc Js' });
    });

    it('receives a failed login as UNAUTHENTICATED with a google.rpc.ErrorInfo in grpc-status-details-bin', async () => {
      const error = await expectGrpcError(
        callUnary(auth, 'Login', { email: `nobody-${randomUUID()}@example.com`, password: TEST_PASSWORD }),
        grpc.status.UNAUTHENTICATED,
      );
      expect(errorInfoOf(error)).to.deep.include({ reason: 'LOGIN_FAILED', domain: 'foundation.dev' });
      expect(error.details).to.equal('the email or password is wrong');
    });
  });

  describe('a plain fetch speaking the Connect protocol with JSON over HTTP/1.1', () => {
    it('signs up, logs in and reads its account', async () => {
      const email = `connect-json-${randomUUID()}@example.com`;
      const signUp = await postConnect(
        platform.baseUrl,
        '/foundation.auth.v1.AuthService/SignUp',
        JSON.stringify({ email, password: TEST_PASSWORD, displayName: 'Curl User' }),
      );
      expect(signUp.status).to.equal(200);
      const created = signUp.json as GrantResponse;
      expect(created.user).to.include({ email, displayName: 'Curl User' });

      const login = await postConnect(platform.baseUrl, '/foundation.auth.v1.AuthService/Login', JSON.stringify({ email, password: TEST_PASSWORD }));
      expect(login.status).to.equal(200);
      const { grant } = login.json as GrantResponse;

      const me = await postConnect(platform.baseUrl, '/foundation.auth.v1.AuthService/GetMe', '{}', {
        headers: { authorization: `Bearer ${grant.accessToken}` },
      });
      expect(me.status).to.equal(200);
      expect((me.json as { user: User }).user).to.include({ id: created.user.id, email });
    });

    it('sets the refresh token in an HttpOnly, Secure, SameSite=Strict cookie scoped to the auth service', async () => {
      const res = await postConnect(
        platform.baseUrl,
        '/foundation.auth.v1.AuthService/SignUp',
        JSON.stringify({ email: `cookie-${randomUUID()}@example.com`, password: TEST_PASSWORD, displayName: 'Cookie' }),
      );
      expect(res.status).to.equal(200);
      const cookies = res.headers.getSetCookie();
      expect(cookies).to.have.length(1);
      const [nameValue, ...attributes] = cookies[0]!.split(';').map((part) => part.trim());
      expect(nameValue).to.match(/^foundation_refresh=[^;\s]{20,}$/);
      const lower = attributes.map((a) => a.toLowerCase());
      expect(lower).to.include('httponly');
      expect(lower).to.include('secure');
      expect(lower).to.include('samesite=strict');
      expect(attributes).to.include(`Path=${REFRESH_COOKIE_PATH}`);
      // The refresh token travels only in the cookie, never in the body.
      expect(Buffer.from(res.bytes).toString('utf8')).not.to.contain(nameValue!.split('=')[1]);
    });
  });

  describe('a plain fetch speaking gRPC-Web', () => {
    it('calls MetaService/GetVersion with an enveloped binary body and decodes the framed answer', async () => {
      const message = toBinary(GetVersionRequestSchema, create(GetVersionRequestSchema));
      const res = await fetch(new URL('/foundation.meta.v1.MetaService/GetVersion', platform.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
        body: envelope(0, message),
        signal: AbortSignal.timeout(20_000),
      });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/grpc-web\+proto/);
      const frames = readEnvelopes(new Uint8Array(await res.arrayBuffer()));
      const data = frames.filter((f) => (f.flags & TRAILER_FLAG) === 0);
      const trailer = frames.find((f) => (f.flags & TRAILER_FLAG) !== 0);
      expect(data).to.have.length(1);
      const version = fromBinary(GetVersionResponseSchema, data[0]!.data);
      const expected = await platform.grpc.meta.getVersion({});
      expect(version.apiVersion).to.equal('v1');
      expect(version).to.deep.equal(expected);
      expect(Buffer.from(trailer!.data).toString('latin1')).to.match(/^grpc-status: ?0\r?$/m);
    });
  });
});

/** gRPC-Web marks the trailers frame with the high bit of the flags byte. */
const TRAILER_FLAG = 0x80;

/** The 5-byte envelope of gRPC and gRPC-Web: flags, big-endian length, message. */
function envelope(flags: number, message: Uint8Array): Uint8Array {
  const framed = new Uint8Array(5 + message.length);
  framed[0] = flags;
  new DataView(framed.buffer).setUint32(1, message.length);
  framed.set(message, 5);
  return framed;
}

function readEnvelopes(body: Uint8Array): { flags: number; data: Uint8Array }[] {
  const frames: { flags: number; data: Uint8Array }[] = [];
  for (let offset = 0; offset < body.length; ) {
    if (body.length - offset < 5) throw new Error(`a truncated envelope header at byte ${offset}`);
    const length = new DataView(body.buffer, body.byteOffset + offset).getUint32(1);
    if (offset + 5 + length > body.length) throw new Error(`a truncated envelope at byte ${offset}`);
    frames.push({ flags: body[offset]!, data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return frames;
}
