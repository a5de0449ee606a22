import { createRequire } from 'node:module';
import type { PlatformVersion } from '@foundation/meta';

const rootPackage = createRequire(import.meta.url)('../../../package.json') as { version: string };

/** The release every target reports (GetVersion, the banner, logs). */
export const PLATFORM_VERSION: PlatformVersion = {
  version: rootPackage.version,
  apiVersion: 'v1',
  runtime: `node ${process.version}`,
};
