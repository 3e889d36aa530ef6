import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';

/**
 * Migration scripts must run whole, as the stock `prisma migrate deploy` runs them. The adapters do not:
 * pglite-prisma-adapter does not wait for the script (a failing migration would surface as an unhandled
 * rejection), and @prisma/adapter-pg splits it on every ";" (breaking function bodies, and statements after a
 * ";" in a comment). This wraps a factory so each script goes to the database in one simple-protocol call.
 */
export function wholeScripts(factory: SqlMigrationAwareDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory {
  const fix = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const inner = adapter as unknown as { client: { exec?: (sql: string) => Promise<unknown>; query: (sql: string) => Promise<unknown> }; onError(e: unknown): never };
    adapter.executeScript = async (script: string) => {
      try {
        if (typeof inner.client.exec === 'function') await inner.client.exec(script);
        else await inner.client.query(script);
      } catch (e) {
        inner.onError(e);
      }
    };
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => fix(await factory.connect()),
    connectToShadowDb: async () => fix(await factory.connectToShadowDb()),
  };
}
