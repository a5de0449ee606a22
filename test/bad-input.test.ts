import { createHmac, createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import * as grpc from '@grpc/grpc-js';
import { SignUpRequestSchema } from '@foundation/contracts';
import { expectRpcError, signUp, startTestPlatform, TEST_PASSWORD, type PlatformClients, type TestAccount, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { connectErrorOf, postConnect } from './support/connect-http.js';
import { callUnaryRaw, grpcTarget } from './support/grpc-js-calls.js';
import { expectGrpcError } from './support/grpc-status-details.js';

const READ_MAX_BYTES = 2048;
const SIGN_UP = '/foundation.auth.v1.AuthService/SignUp';
const GET_VERSION = '/foundation.meta.v1.MetaService/GetVersion';
const CONTENT_TYPES = { binary: 'application/proto', json: 'application/json' } as const;

/** SignUpRequest bodies no protobuf encoder would produce (field 1 is `email`, a string). */
const UNDECODABLE_PROTOBUF: Record<string, Uint8Array> = {
  'malformed protobuf (wire type 7 does not exist)': Uint8Array.from([0x0f, 0x00]),
  'a length prefix longer than the message': Uint8Array.from([0x0a, 0x05, 0x61]),
  'a truncated varint': Uint8Array.from([0x78, 0x80, 0x80]),
  'a string field with invalid UTF-8': Uint8Array.from([0x0a, 0x04, 0x61, 0xc3, 0x28, 0x62]),
};

/** Connect JSON bodies that are not a SignUpRequest. */
const UNDECODABLE_JSON: Record<string, Uint8Array> = {
  'malformed JSON': Buffer.from('{"email": "a@example.com", '),
  'JSON with invalid UTF-8': Buffer.concat([Buffer.from('{"email": "a'), Buffer.from([0xc3, 0x28]), Buffer.from('@example.com"}')]),
};

/** Access tokens that must not authenticate anyone, each made from a genuine one as its name says. */
const FORGERIES = [
  'garbage',
  'a tampered payload (one character flipped)',
  "another user's id in the payload",
  'a tampered signature',
  'an alg "none" token',
  'an HS256 token keyed with the public JWK',
  'an HS256 token keyed with the public key PEM',
] as const;
type Forgery = (typeof FORGERIES)[number];

/** A well-formed SignUpRequest of exactly `size` bytes, as protobuf or as JSON: only its display name is long. */
function signUpOfSize(format: 'binary' | 'json', size: number): Uint8Array {
  const encode = (displayName: string): Uint8Array =>
    format === 'binary'
      ? toBinary(SignUpRequestSchema, create(SignUpRequestSchema, { email: 'big@example.com', displayName }))
      : Buffer.from(JSON.stringify({ email: 'big@example.com', displayName }));
  let length = size;
  for (let attempt = 0; attempt < 4; attempt++) {
    const body = encode('x'.repeat(length));
    if (body.length === size) return body;
    length -= body.length - size;
  }
  throw new Error(`cannot build a ${format} SignUpRequest of exactly ${size} bytes`);
}

describe('Bad input', () => {
  let platform: TestPlatform;
  let grpcClient: grpc.Client;
  /** Every password and token this suite sent, none of which may appear in a log line. */
  const secretsSent: string[] = [];

  before(async () => {
    platform = await startTestPlatform({ env: { FOUNDATION_READ_MAX_BYTES: String(READ_MAX_BYTES) } });
    grpcClient = new grpc.Client(grpcTarget(platform.baseUrl), grpc.credentials.createInsecure());
  });
  after(async () => {
    grpcClient?.close();
    await platform?.close();
  });

  /** The same gRPC connection and the Connect endpoint both still answer. */
  async function expectStillServing(): Promise<void> {
    await callUnaryRaw(grpcClient, GET_VERSION, new Uint8Array(0));
    const res = await postConnect(platform.baseUrl, GET_VERSION, '{}');
    expect(res.status).to.equal(200);
  }

  describe('request bodies that do not decode', () => {
    for (const [name, body] of Object.entries(UNDECODABLE_PROTOBUF)) {
      it(`answers ${name} over gRPC with INVALID_ARGUMENT (MALFORMED_REQUEST) and keeps serving`, async () => {
        const error = await expectGrpcError(callUnaryRaw(grpcClient, SIGN_UP, body), grpc.status.INVALID_ARGUMENT, 'MALFORMED_REQUEST');
        expect(error.details).to.contain('SignUpRequest');
        await expectStillServing();
      });

      it(`answers ${name} over Connect with invalid_argument (MALFORMED_REQUEST) and keeps serving`, async () => {
        const res = await postConnect(platform.baseUrl, SIGN_UP, body, { contentType: 'application/proto' });
        expect(res.status).to.equal(400);
        expect(connectErrorOf(res)).to.include({ code: 'invalid_argument', reason: 'MALFORMED_REQUEST' });
        await expectStillServing();
      });
    }

    for (const [name, body] of Object.entries(UNDECODABLE_JSON)) {
      it(`answers ${name} over Connect with invalid_argument (MALFORMED_REQUEST) and keeps serving`, async () => {
        const res = await postConnect(platform.baseUrl, SIGN_UP, body);
        expect(res.status).to.equal(400);
        expect(connectErrorOf(res)).to.include({ code: 'invalid_argument', reason: 'MALFORMED_REQUEST' });
        await expectStillServing();
      });
    }
  });

  describe(`request messages over FOUNDATION_READ_MAX_BYTES (${READ_MAX_BYTES})`, () => {
    for (const size of [READ_MAX_BYTES + 1, 1_000_000]) {
      it(`answers a ${size}-byte message over gRPC with RESOURCE_EXHAUSTED (REQUEST_TOO_LARGE) and keeps serving`, async () => {
        await expectGrpcError(callUnaryRaw(grpcClient, SIGN_UP, signUpOfSize('binary', size)), grpc.status.RESOURCE_EXHAUSTED, 'REQUEST_TOO_LARGE');
        await expectStillServing();
      });

      for (const format of ['binary', 'json'] as const) {
        it(`answers a ${size}-byte ${format} message over Connect with resource_exhausted (REQUEST_TOO_LARGE) and keeps serving`, async () => {
          const res = await postConnect(platform.baseUrl, SIGN_UP, signUpOfSize(format, size), { contentType: CONTENT_TYPES[format] });
          expect(res.status).to.equal(429);
          expect(connectErrorOf(res)).to.include({ code: 'resource_exhausted', reason: 'REQUEST_TOO_LARGE' });
          await expectStillServing();
        });
      }
    }

    it(`takes a message of exactly ${READ_MAX_BYTES} bytes over gRPC and Connect`, async () => {
      // Decoded and validated: the display name is too long for the handler, not too large for the server.
      await expectGrpcError(callUnaryRaw(grpcClient, SIGN_UP, signUpOfSize('binary', READ_MAX_BYTES)), grpc.status.INVALID_ARGUMENT, 'INVALID_FIELD');
      for (const format of ['binary', 'json'] as const) {
        const res = await postConnect(platform.baseUrl, SIGN_UP, signUpOfSize(format, READ_MAX_BYTES), { contentType: CONTENT_TYPES[format] });
        expect(connectErrorOf(res)).to.include({ code: 'invalid_argument', reason: 'INVALID_FIELD' });
      }
    });
  });

  describe('over-long fields', () => {
    for (const transport of ['grpc', 'connect'] as const) {
      const clients = () => platform[transport];

      it(`refuses a 101-character display_name over ${transport} with INVALID_ARGUMENT (INVALID_FIELD), and takes 100`, async () => {
        const error = await expectRpcError(
          clients().auth.signUp({ email: uniqueEmail(), password: TEST_PASSWORD, displayName: 'd'.repeat(101) }),
          Code.InvalidArgument,
          'INVALID_FIELD',
        );
        expect(error.rawMessage).to.contain('display_name');
        await clients().auth.signUp({ email: uniqueEmail(), password: TEST_PASSWORD, displayName: 'd'.repeat(100) });
      });

      it(`refuses a 257-character password over ${transport} with INVALID_ARGUMENT (INVALID_FIELD), and takes 256`, async () => {
        const tooLong = 'p'.repeat(257);
        const longest = 'q'.repeat(256);
        secretsSent.push(tooLong, longest);
        const error = await expectRpcError(
          clients().auth.signUp({ email: uniqueEmail(), password: tooLong, displayName: 'Long Password' }),
          Code.InvalidArgument,
          'INVALID_FIELD',
        );
        expect(error.rawMessage).to.contain('password');
        await clients().auth.signUp({ email: uniqueEmail(), password: longest, displayName: 'Long Password' });
      });
    }
  });

  describe('access tokens', () => {
    let account: TestAccount;
    let other: TestAccount;
    let forgeries: Record<Forgery, string>;

    before(async () => {
      account = await signUp(platform.grpc);
      other = await signUp(platform.grpc);
      const jwk = (JSON.parse((await platform.grpc.auth.getJwks({})).jwksJson) as { keys: JsonWebKey[] }).keys[0]!;
      const [header, payload, signature] = account.accessToken.split('.') as [string, string, string];
      const claims = decodeSegment(payload);
      const publicPem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
      const hs256Header = encodeSegment({ alg: 'HS256', typ: 'JWT', kid: jwk.kid });
      forgeries = {
        garbage: 'garbage',
        'a tampered payload (one character flipped)': [header, flipMiddleCharacter(payload), signature].join('.'),
        "another user's id in the payload": [header, encodeSegment({ ...claims, sub: other.userId }), signature].join('.'),
        'a tampered signature': [header, payload, flipMiddleCharacter(signature)].join('.'),
        'an alg "none" token': [encodeSegment({ alg: 'none' }), payload, ''].join('.'),
        'an HS256 token keyed with the public JWK': hs256(hs256Header, payload, JSON.stringify(jwk)),
        'an HS256 token keyed with the public key PEM': hs256(hs256Header, payload, publicPem),
      };
      secretsSent.push(TEST_PASSWORD, account.accessToken, signature, account.refreshToken, other.accessToken, ...Object.values(forgeries));
    });

    for (const transport of ['grpc', 'connect'] as const) {
      describe(`over ${transport}`, () => {
        const auth = () => (platform[transport] as PlatformClients).auth;

        it('answers a call without a credential with UNAUTHENTICATED (CREDENTIAL_MISSING)', async () => {
          await expectRpcError(auth().getMe({}), Code.Unauthenticated, 'CREDENTIAL_MISSING');
        });

        it('answers a credential that is not a Bearer token with UNAUTHENTICATED (CREDENTIAL_INVALID)', async () => {
          await expectRpcError(auth().getMe({}, { headers: { authorization: `Basic ${account.accessToken}` } }), Code.Unauthenticated, 'CREDENTIAL_INVALID');
        });

        it('accepts the genuine token (the forgeries below differ from it only as named)', async () => {
          const me = await auth().getMe({}, account.as);
          expect(me.user?.id).to.equal(account.userId);
        });

        for (const name of FORGERIES) {
          it(`answers ${name} with UNAUTHENTICATED (CREDENTIAL_INVALID)`, async () => {
            const token = forgeries[name];
            await expectRpcError(auth().getMe({}, { headers: { authorization: `Bearer ${token}` } }), Code.Unauthenticated, 'CREDENTIAL_INVALID');
          });
        }
      });
    }
  });

  describe('the log lines of every call above', () => {
    it('never contain a password or token the suite sent', () => {
      expect(secretsSent.length).to.be.greaterThan(5);
      const logs = platform.logLines.join('\n');
      expect(logs).to.contain('"rpc":"foundation.auth.v1.AuthService/GetMe"');
      for (const secret of secretsSent) expect(logs.includes(secret), `a log line contains ${secret.slice(0, 24)}…`).to.equal(false);
    });
  });
});

describe('An expired access token', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({ env: { FOUNDATION_ACCESS_TOKEN_TTL: '1s' } });
  });
  after(() => platform?.close());

  it('is answered with UNAUTHENTICATED (CREDENTIAL_INVALID) saying it expired, over gRPC and Connect', async () => {
    const account = await signUp(platform.grpc);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    for (const clients of [platform.grpc, platform.connect]) {
      const error = await expectRpcError(clients.auth.getMe({}, account.as), Code.Unauthenticated, 'CREDENTIAL_INVALID');
      expect(error.rawMessage).to.contain('expired');
    }
    const logs = platform.logLines.join('\n');
    expect(logs).to.contain('"code":"unauthenticated"');
    expect(logs.includes(account.accessToken)).to.equal(false);
    expect(logs.includes(TEST_PASSWORD)).to.equal(false);
  });
});

function uniqueEmail(): string {
  return `bad-input-${randomUUID()}@example.com`;
}

function encodeSegment(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The segment with its middle base64url character replaced by a different one. */
function flipMiddleCharacter(segment: string): string {
  const i = Math.floor(segment.length / 2);
  return segment.slice(0, i) + (segment[i] === 'A' ? 'B' : 'A') + segment.slice(i + 1);
}

/** The "RS/ES256 public key used as an HMAC secret" forgery: valid HS256 over the genuine claims. */
function hs256(header: string, payload: string, secret: string): string {
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
