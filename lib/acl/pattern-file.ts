// Pattern files (`acl ... -f FILE`) and map files (`map(FILE)`): one entry per line, blank
// lines and `#` comments ignored. Read once, at configuration time.
import { readFileSync } from 'node:fs';

export class PatternFileError extends Error {}

function readLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    throw new PatternFileError(`cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line !== '' && !line.startsWith('#')) out.push(line);
  }
  return out;
}

/** Patterns of an `-f` file: each line is one whole pattern (spaces included). */
export function readPatternFile(path: string): string[] {
  return readLines(path);
}

/** Entries of a map file: a key, whitespace, then the value (the rest of the line). */
export function readMapFile(path: string): Array<[key: string, value: string]> {
  return readLines(path).map((line) => {
    const m = /^(\S+)\s*(.*)$/.exec(line)!;
    return [m[1]!, m[2]!];
  });
}
