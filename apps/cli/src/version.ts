/** The CLI's version; a spec checks it against apps/cli/package.json. */
export const CLI_VERSION = '0.1.0';

/** How the CLI introduces itself in Hello. */
export const CLIENT_NAME = `hush-cli/${CLI_VERSION}`;
