/** The most events one TaskEvents message of the brain's stream may carry (brain.proto): the node sends at most this many, the brain refuses more. */
export const MAX_EVENTS_PER_MESSAGE = 256;
