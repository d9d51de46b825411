// The public face of lib/config/.
export { loadConfig, parseConfigText } from './load-config.js';
export type { ParseResult } from './config-parser.js';
export { ConfigParser } from './config-parser.js';
export { validateConfig, type ValidateHints } from './validate-config.js';
export { ConfigError, ConfigErrorCode } from './config-error.js';
export { splitLine, type Env } from './lexer.js';
export { parseTime, parseSize, ValueError } from './units.js';
export * from './types.js';
