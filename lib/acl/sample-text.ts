// How HAProxy writes a sample into a log-format string (`%[...]` in logs, set-header, return
// lf-string...): the text stops at a NUL byte, and control characters other than tab, and DEL,
// become %XX. Besides matching HAProxy byte for byte, this keeps a CR or LF taken from a header
// (req.hdrs, b64dec, bytes) from ever splitting the header it is written into.
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f]/;

export function logFormatText(text: string): string {
  if (!UNSAFE.test(text)) return text;
  const nul = text.indexOf('\0');
  const kept = nul < 0 ? text : text.slice(0, nul);
  return kept.replace(/[\x01-\x08\x0a-\x1f\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}
