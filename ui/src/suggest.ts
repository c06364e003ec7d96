// Suggests an app name from the prompt while the user types: a lowercase DNS label of at most
// 40 characters made of the first meaningful words ("A tiny todo list with a done flag" →
// "todo-list"), so the name says what the app is without the filler around it.

const MAX_LENGTH = 40;
const MAX_WORDS = 3;

/** Words that say how to build or how big, not what the app is. */
const FILLER = new Set(
  (
    'a an the my our your me us i we you it its this that please just some ' +
    'app apps application web website site page tool simple tiny small little basic minimal quick nice ' +
    'build create make write generate want need would like could should can let lets give ' +
    'new single one'
  ).split(' '),
);

/** Words that end the name once it has begun (as punctuation does): what follows is detail. */
const BREAKS = new Set(
  'with where which who whose that to for so and or but in on at by from of using via including plus'.split(' '),
);

export function suggestAppName(prompt: string): string {
  // Words, and the punctuation that ends a clause ("Recipe box: recipes with…").
  const tokens = prompt
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .match(/[a-z0-9]+|[.,:;!?()\u2013\u2014]/g) ?? [];
  const picked: string[] = [];
  for (const word of tokens) {
    const isWord = /^[a-z0-9]/.test(word);
    if (picked.length > 0 && (BREAKS.has(word) || !isWord)) break;
    if (!isWord) continue;
    if (FILLER.has(word) || BREAKS.has(word)) continue;
    picked.push(word);
    if (picked.length === MAX_WORDS) break;
  }
  return toLabel(picked.join('-'));
}

/** A DNS label that starts with a letter and ends with a letter or digit, cut at a word break
 * when it is too long. */
function toLabel(name: string): string {
  let label = name.replace(/^[^a-z]+/, '');
  if (label.length > MAX_LENGTH) {
    const cut = label.slice(0, MAX_LENGTH + 1);
    const lastBreak = cut.lastIndexOf('-');
    label = lastBreak > 0 ? cut.slice(0, lastBreak) : label.slice(0, MAX_LENGTH);
  }
  return label.replace(/-+$/, '');
}
