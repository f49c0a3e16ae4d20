/** The guard of the development commands (dev, push, reset): refused with NODE_ENV=production unless --force. */
import { DigilogError } from '../errors.js';

/** Throws `production-guard` (exit 9) before anything connects. Pure. */
export function refuseInProduction(options: { production: boolean; force?: boolean | undefined }, refused: string, hint: string): void {
  if (options.production && !options.force) throw new DigilogError('production-guard', `Refusing to ${refused} with NODE_ENV=production`, { hint });
}
