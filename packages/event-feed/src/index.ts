export { EventFeed, type FeedSubscription } from './event-feed.js';
export { Wakeup } from './wakeup.js';
