/**
 * Makes sure `apps/cli/dist` is built from the current sources; `announce` is called before a
 * build starts. Throws when the build fails or TypeScript is missing.
 */
export function ensureBuilt(announce?: () => void): void;
