/**
 * JSON text laid out as `JSON.stringify(JSON.parse(text), null, 2)` would, but with every number
 * and string as written: a header schema's long default beyond 2^53 is shown as the file has it,
 * not rounded by a parse. `text` must be valid JSON; `pad` starts every line after the first.
 */
export function indentJson(text: string, pad = ''): string {
  let out = '';
  let depth = 0;
  const line = () => `\n${pad}${'  '.repeat(depth)}`;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '{' || c === '[') {
      let j = i + 1;
      while (/\s/.test(text[j] ?? '')) j++;
      if (text[j] === (c === '{' ? '}' : ']')) {
        out += c === '{' ? '{}' : '[]';
        i = j;
      } else {
        depth++;
        out += c + line();
      }
    } else if (c === '}' || c === ']') {
      depth--;
      out += line() + c;
    } else if (c === ',') out += ',' + line();
    else if (c === ':') out += ': ';
    else out += c;
  }
  return out;
}
