export { clientsOver, startTestPlatform } from './test-platform.js';
export type { PlatformClients, TestPlatform, TestPlatformOptions } from './test-platform.js';
export { inOrg, signUp, TEST_PASSWORD } from './accounts.js';
export type { TestAccount } from './accounts.js';
export { expectRpcError } from './expect-rpc-error.js';
