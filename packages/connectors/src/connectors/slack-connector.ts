import type { ActionDefinition, ConnectorDefinition, JsonValue } from '../catalog.js';
import { ConnectorCredentialError } from '../connector-errors.js';

type PostMessageInput = {
  text: string;
  blocks?: JsonValue[];
};

/** Errors name the webhook by this label: its URL is the secret, so not even its origin is quoted. */
const WEBHOOK_LABEL = 'the Slack webhook';

const postMessage: ActionDefinition<PostMessageInput> = {
  id: 'postMessage',
  description: 'Posts a message to the channel of a Slack incoming webhook.',
  inputSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: {
      text: {
        type: 'string',
        minLength: 1,
        maxLength: 40000,
        description: 'Message text (mrkdwn); the notification fallback when blocks are given.',
      },
      blocks: { type: 'array', maxItems: 50, items: { type: 'object' }, description: 'Block Kit blocks.' },
    },
  },
  outputSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['ok'],
    properties: { ok: { const: true } },
  },
  async run(input, context) {
    const webhook = context.secret ?? '';
    if (!URL.canParse(webhook)) throw new ConnectorCredentialError('the Slack webhook URL secret is not a valid URL');
    await context.send({
      method: 'POST',
      url: webhook,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input.blocks === undefined ? { text: input.text } : { text: input.text, blocks: input.blocks }),
      label: WEBHOOK_LABEL,
    });
    return { ok: true };
  },
};

export const slackConnector: ConnectorDefinition = {
  id: 'slack',
  version: '1.0.0',
  displayName: 'Slack',
  description: 'Posts messages to Slack through an incoming webhook.',
  credential: {
    kind: 'webhook_url',
    description: 'The incoming webhook URL (https://hooks.slack.com/services/…); the URL itself is the secret.',
    optional: false,
  },
  actions: [postMessage],
};
