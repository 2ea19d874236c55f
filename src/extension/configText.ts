/**
 * Small scans of a config's JSON text, for pointing the editor at a field and deciding where a
 * hover applies. Plain functions (no VS Code import), tolerant of text that doesn't parse yet.
 */

interface Token {
  kind: 'key' | 'open' | 'close';
  text: string;
  start: number;
  end: number;
}

/** Keys (strings followed by a colon) and braces/brackets, with their offsets; strings skipped. */
function scan(text: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') tokens.push({ kind: 'open', text: c, start: i, end: i + 1 });
    else if (c === '}' || c === ']') tokens.push({ kind: 'close', text: c, start: i, end: i + 1 });
    else if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const end = i + 1;
      let j = end;
      while (j < text.length && /\s/.test(text[j] as string)) j++;
      if (text[j] === ':') {
        tokens.push({ kind: 'key', text: text.slice(start + 1, end - 1), start, end });
      }
    }
  }
  return tokens;
}

/**
 * The offset of a field named by a config error (`data.resolution`, `model.mlp[1]`) in the text:
 * the innermost key found along the path; -1 when not even the first key is there.
 */
export function findFieldOffset(text: string, field: string): number {
  const keys = field
    .split('.')
    .map((k) => k.replace(/\[\d+\]$/, ''))
    .filter((k) => k !== '');
  const tokens = scan(text);
  let depth = 0;
  let want = 0;
  let found = -1;
  for (const t of tokens) {
    if (t.kind === 'open') depth++;
    else if (t.kind === 'close') {
      depth--;
      // Left the object the matched key opened: the path can't continue further down.
      if (depth < want) break;
    } else if (depth === want + 1 && t.text === keys[want]) {
      found = t.start;
      want++;
      if (want === keys.length) break;
    }
  }
  return found;
}

/** Whether `offset` lies on a top-level key of the object (where the run preview hover applies). */
export function isOnTopLevelKey(text: string, offset: number): boolean {
  let depth = 0;
  for (const t of scan(text)) {
    if (t.start > offset) return false;
    if (t.kind === 'open') depth++;
    else if (t.kind === 'close') depth--;
    else if (depth === 1 && offset >= t.start && offset < t.end) return true;
  }
  return false;
}
