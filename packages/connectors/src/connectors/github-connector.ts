import type { ActionDefinition, ConnectorDefinition } from '../catalog.js';
import { ConnectorHttpError } from '../connector-errors.js';
import { credentialHeaders } from '../credential-headers.js';

const DEFAULT_BASE_URL = 'https://api.github.com';

type CreateIssueInput = {
  owner: string;
  repo: string;
  title: string;
  body?: string;
  labels?: string[];
};

const createIssue: ActionDefinition<CreateIssueInput> = {
  id: 'createIssue',
  description: 'Opens an issue in a GitHub repository.',
  inputSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['owner', 'repo', 'title'],
    properties: {
      owner: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9-]{0,38}$', description: 'User or organization login.' },
      // `.` and `..` would be read as path segments and climb out of /repos/{owner}.
      repo: { type: 'string', pattern: '^(?!\\.\\.?$)[A-Za-z0-9_.-]{1,100}$' },
      title: { type: 'string', minLength: 1, maxLength: 1024 },
      body: { type: 'string', maxLength: 65536, description: 'Markdown.' },
      labels: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 100 } },
    },
  },
  outputSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['number', 'url', 'htmlUrl'],
    properties: {
      number: { type: 'integer' },
      url: { type: 'string', description: 'API URL of the issue.' },
      htmlUrl: { type: 'string', description: 'Web page of the issue.' },
    },
  },
  async run(input, context) {
    const base = (context.baseUrls.github ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const url = new URL(`${base}/repos/${encodeURIComponent(input.owner)}/${encodeURIComponent(input.repo)}/issues`);
    const { owner: _owner, repo: _repo, ...issue } = input;
    const response = await context.send({
      method: 'POST',
      url,
      headers: {
        accept: 'application/vnd.github+json',
        'content-type': 'application/json',
        'user-agent': 'foundation-connectors',
        'x-github-api-version': '2022-11-28',
      },
      credentialHeaders: credentialHeaders({ kind: 'bearer' }, context.secret ?? ''),
      body: JSON.stringify(issue),
    });
    const created = parseIssue(response.body);
    if (created === undefined) throw new ConnectorHttpError(url.origin, response.status, '', 'answered without an issue number and URLs');
    return created;
  },
};

/** The fields the output promises, or undefined when GitHub (or a proxy in front of it) sent something else. */
function parseIssue(body: Buffer): { number: number; url: string; htmlUrl: string } | undefined {
  try {
    const issue = JSON.parse(body.toString('utf8')) as { number?: unknown; url?: unknown; html_url?: unknown };
    const { number, url, html_url: htmlUrl } = issue;
    if (Number.isInteger(number) && typeof url === 'string' && typeof htmlUrl === 'string') {
      return { number: number as number, url, htmlUrl };
    }
  } catch {
    // Not JSON: handled like JSON without the fields.
  }
  return undefined;
}

export const githubConnector: ConnectorDefinition = {
  id: 'github',
  version: '1.0.0',
  displayName: 'GitHub',
  description: 'Works with GitHub repositories through the REST API (github.com or GitHub Enterprise Server).',
  credential: {
    kind: 'bearer_token',
    description: 'A personal access token or GitHub App installation token with issues: write.',
    optional: false,
  },
  actions: [createIssue],
};
