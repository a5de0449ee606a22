export { FoundationClient } from './foundation-client.js';
export type { FoundationClientOptions } from './foundation-client.js';
export { ClientSession } from './session.js';
