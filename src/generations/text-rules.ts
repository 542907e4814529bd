/**
 * Rules for text that comes from outside, whether a client sent it or an upstream answered it: both are
 * stored in Postgres and put in URLs, so both are held to the same limits.
 */

/**
 * An unpaired UTF-16 surrogate: not valid Unicode, and Postgres's UTF-8 encoding would silently turn it into
 * U+FFFD. A source, so each user builds the flags it needs.
 */
export const LONE_SURROGATE_SOURCE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.source;

/** Longest URL accepted: a frame URL a client sends, and any address an upstream answers with. */
export const MAX_URL_LENGTH = 2048;
