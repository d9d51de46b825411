// Configuration errors. Codes are stable: tools and tests match on them, never on messages.
import type { SourceLocation } from './types.js';

export const ConfigErrorCode = {
  UNKNOWN_KEYWORD: 'LIMPET_CONFIG_UNKNOWN_KEYWORD',
  KEYWORD_NOT_ALLOWED: 'LIMPET_CONFIG_KEYWORD_NOT_ALLOWED',
  MISSING_ARGUMENT: 'LIMPET_CONFIG_MISSING_ARGUMENT',
  BAD_VALUE: 'LIMPET_CONFIG_BAD_VALUE',
  BAD_ADDRESS: 'LIMPET_CONFIG_BAD_ADDRESS',
  UNKNOWN_OPTION: 'LIMPET_CONFIG_UNKNOWN_OPTION',
  SYNTAX: 'LIMPET_CONFIG_SYNTAX',
  UNKNOWN_VARIABLE: 'LIMPET_CONFIG_UNKNOWN_VARIABLE',
  BAD_SECTION: 'LIMPET_CONFIG_BAD_SECTION',
  UNSUPPORTED: 'LIMPET_CONFIG_UNSUPPORTED',
  UNKNOWN_BACKEND: 'LIMPET_CONFIG_UNKNOWN_BACKEND',
  UNKNOWN_DEFAULTS: 'LIMPET_CONFIG_UNKNOWN_DEFAULTS',
  DUPLICATE_PROXY: 'LIMPET_CONFIG_DUPLICATE_PROXY',
  DUPLICATE_SERVER: 'LIMPET_CONFIG_DUPLICATE_SERVER',
  DUPLICATE_SERVER_ID: 'LIMPET_CONFIG_DUPLICATE_SERVER_ID',
  COOKIE_NEEDS_HTTP: 'LIMPET_CONFIG_COOKIE_NEEDS_HTTP',
  NO_BIND: 'LIMPET_CONFIG_NO_BIND',
  MODE_MISMATCH: 'LIMPET_CONFIG_MODE_MISMATCH',
  UNREADABLE_FILE: 'LIMPET_CONFIG_UNREADABLE_FILE',
  UNKNOWN_TABLE: 'LIMPET_CONFIG_UNKNOWN_TABLE',
  UNKNOWN_REDIS: 'LIMPET_CONFIG_UNKNOWN_REDIS',
  DUPLICATE_REDIS: 'LIMPET_CONFIG_DUPLICATE_REDIS',
  FETCH_NEEDS_HTTP: 'LIMPET_CONFIG_FETCH_NEEDS_HTTP',
} as const;

export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/**
 * One problem in one configuration line. The message follows HAProxy's alert format,
 * `parsing [FILE:LINE] : ...`, so people who know HAProxy recognise it at once.
 */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly file: string;
  readonly line: number;
  readonly keyword: string;
  /** The message without the `parsing [FILE:LINE] : ` prefix. */
  readonly detail: string;

  constructor(code: ConfigErrorCode, where: SourceLocation, keyword: string, detail: string) {
    super(`parsing [${where.file}:${where.line}] : ${detail}`);
    this.name = 'ConfigError';
    this.code = code;
    this.file = where.file;
    this.line = where.line;
    this.keyword = keyword;
    this.detail = detail;
  }
}
