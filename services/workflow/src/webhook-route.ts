import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { codeToHttpStatus, errorToJson } from '@connectrpc/connect/protocol-connect';
import { rpcError, toClientError, type Logger } from '@foundation/kit';
import type { JsonValue } from '@foundation/workflow-dsl';
import express, { type Router } from 'express';
import { WEBHOOK_PATH_PREFIX } from './messages.js';
import type { RunStarter } from './run-starter.js';
import type { WorkflowStore } from './workflow-store.js';

/** Request headers a workflow may read as `trigger.headers`; others (cookies, authorization) are dropped. */
const FORWARDED_HEADERS = ['content-type', 'user-agent', 'x-github-event', 'x-github-delivery', 'x-request-id'];
const IDEMPOTENCY_HEADER = 'idempotency-key';
const IDEMPOTENCY_KEY_MAX = 200;
const PAYLOAD_TOO_LARGE = 413;

export interface WebhookRouteOptions {
  workflows: WorkflowStore;
  starter: RunStarter;
  log: Logger;
  /** Largest accepted body, e.g. "256kb". */
  bodyLimit: string;
}

/**
 * `POST /v1/webhooks/<token>` starts a run of the latest published version through its `trigger.webhook`
 * node, with the JSON body (and a few headers) as the trigger's output. Answers 202 with the run id;
 * errors are Connect error JSON with the matching HTTP status (404 for an unknown or archived token,
 * 400 for a body that is not JSON, 413 for one over `bodyLimit`, 503 when the queue is down). An
 * `Idempotency-Key` header makes a redelivered webhook start one run.
 */
export function registerWebhookRoute(router: Router, { workflows, starter, log, bodyLimit }: WebhookRouteOptions): void {
  const json = express.json({ limit: bodyLimit, strict: false, type: () => true });
  router.post(`${WEBHOOK_PATH_PREFIX}:token`, (req, res, next) => {
    json(req, res, (error?: unknown) => {
      if (error) {
        if ((error as { status?: number }).status === PAYLOAD_TOO_LARGE) {
          // Connect maps RESOURCE_EXHAUSTED to 429, which webhook senders take as "retry later"; a body
          // that is too large never fits, so it is 413.
          sendError(res, rpcError(Code.ResourceExhausted, 'REQUEST_TOO_LARGE', `the body is larger than ${bodyLimit}`), PAYLOAD_TOO_LARGE);
        } else {
          sendError(res, rpcError(Code.InvalidArgument, 'MALFORMED_REQUEST', 'the body is not valid JSON'));
        }
        return;
      }
      next();
    });
  });
  router.post(`${WEBHOOK_PATH_PREFIX}:token`, async (req, res) => {
    const requestId = randomUUID();
    try {
      const idempotencyKey = req.get(IDEMPOTENCY_HEADER) ?? '';
      if ([...idempotencyKey].length > IDEMPOTENCY_KEY_MAX) {
        throw rpcError(Code.InvalidArgument, 'INVALID_FIELD', `the Idempotency-Key header must be at most ${IDEMPOTENCY_KEY_MAX} characters`);
      }
      const workflow = await workflows.findByWebhookToken(String(req.params['token']));
      if (!workflow) throw rpcError(Code.NotFound, 'NOT_FOUND', 'no published workflow has this webhook URL');
      const headers = Object.fromEntries(FORWARDED_HEADERS.flatMap((h) => (req.get(h) === undefined ? [] : [[h, req.get(h)!]])));
      const body = (req.body ?? null) as JsonValue;
      const run = await starter.start(workflow.orgId, {
        workflowId: workflow.id,
        version: 0,
        trigger: 'webhook',
        inputs: {},
        triggerOutput: { body, headers, receivedAt: new Date().toISOString() },
        idempotencyKey,
        startedBy: '',
        retryOf: '',
      });
      res.status(202).json({ runId: run.id, workflowId: run.workflowId, workflowVersion: run.workflowVersion });
      log.info({ requestId, route: 'webhook', workflowId: workflow.id, runId: run.id }, 'webhook started a run');
    } catch (e) {
      const { error, isUnexpected } = toClientError(e, requestId);
      if (isUnexpected) log.error({ requestId, route: 'webhook', error: e instanceof Error ? e.message : String(e) }, 'webhook failed');
      sendError(res, error);
    }
  });
}

function sendError(res: express.Response, error: ReturnType<typeof rpcError>, httpStatus = codeToHttpStatus(error.code)): void {
  res.status(httpStatus).json(errorToJson(error, undefined));
}
