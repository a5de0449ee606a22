import { ConnectorCatalog } from './catalog.js';
import { githubConnector } from './connectors/github-connector.js';
import { httpConnector } from './connectors/http-connector.js';
import { slackConnector } from './connectors/slack-connector.js';

/** The connectors every Foundation deployment ships: `http.request`, `slack.postMessage`, `github.createIssue`. */
export function createBuiltinCatalog(): ConnectorCatalog {
  return new ConnectorCatalog([httpConnector, slackConnector, githubConnector]);
}
