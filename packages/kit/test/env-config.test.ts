import { ConfigError, durationMs, parseDuration, parseEnvConfig, port } from '@foundation/kit';
import { expect } from 'chai';
import { z } from 'zod';

describe('parseDuration()', () => {
  it('reads every unit', () => {
    expect([parseDuration('500ms'), parseDuration('30s'), parseDuration('10m'), parseDuration('2h'), parseDuration('7d')]).to.deep.equal([
      500, 30_000, 600_000, 7_200_000, 604_800_000,
    ]);
  });

  it('refuses bare numbers and unknown units with a hint', () => {
    for (const text of ['30', '1.5s', '10 minutes', '']) {
      expect(() => parseDuration(text)).to.throw(/is not a duration; write a whole number and a unit/);
    }
  });
});

describe('parseEnvConfig()', () => {
  const schema = z.object({
    FOUNDATION_PORT: port().default(8080),
    FOUNDATION_TTL: durationMs().default(1000),
    FOUNDATION_SECRET_URL: z.url().optional(),
  });

  it('applies defaults and compiles durations', () => {
    expect(parseEnvConfig(schema, { FOUNDATION_TTL: '2s' })).to.deep.equal({ FOUNDATION_PORT: 8080, FOUNDATION_TTL: 2000 });
  });

  it('names every bad variable and hides values that may be secret', () => {
    try {
      parseEnvConfig(schema, { FOUNDATION_PORT: 'eighty', FOUNDATION_TTL: 'soon', FOUNDATION_SECRET_URL: 'postgres:// user:hunter2@' });
      expect.fail('bad config was accepted');
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError);
      const message = (e as Error).message;
      expect(message).to.contain('FOUNDATION_PORT').and.contain('"eighty"').and.contain('FOUNDATION_TTL').and.contain('FOUNDATION_SECRET_URL');
      expect(message).not.to.contain('hunter2');
    }
  });
});
