import { expect } from 'chai';

/** Awaits `promise`, asserts that it fails, and returns the error for further checks. */
export async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<Error> {
  const error = await promise.then(
    () => expect.fail(`expected a failure matching ${message}`),
    (e: unknown) => e as Error,
  );
  expect(error.message).to.match(message);
  return error;
}
