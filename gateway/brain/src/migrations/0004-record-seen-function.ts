import { Migration } from '@mikro-orm/migrations';
import { tenantFunctionSql } from '@foundation/db';

/**
 * A heartbeat's write as a tenant function (see `tenantFunctionSql`): one round trip instead of a tenant
 * transaction's three, for the call every connected node makes every interval. ExecutorStore.recordSeen
 * documents it; the statement is the one its transaction ran.
 */
export class RecordSeenFunction extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      tenantFunctionSql({
        name: 'brain.record_seen',
        params: 'executor_id uuid, connection_id uuid',
        returns: 'setof brain.executors',
        body: `
          return query
            update brain.executors e set last_seen_at = case when e.connection_id = record_seen.connection_id then now() else e.last_seen_at end
            where e.id = record_seen.executor_id
            returning e.*;`,
      }),
    );
  }
}
