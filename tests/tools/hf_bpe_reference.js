#!/usr/bin/env node
// An independent, slow reference for a Hugging Face tokenizer.json with a BPE model and a
// ByteLevel pre-tokenizer, written from the file format and the tokenizers library's documented
// behaviour, not from Saturn's C++: JavaScript's own Unicode regex and String.normalize('NFC'),
// the merge loop "merge the adjacent pair of lowest (rank, position), one at a time".
// Usage: node tests/tools/hf_bpe_reference.js tokenizer.json FILE  -> ids, space-separated.
'use strict';
const fs = require('fs');

const tok = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const text = fs.readFileSync(process.argv[3], 'utf8');

// GPT-2's byte <-> character table.
const byteToChar = [];
{
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    byteToChar[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
}

const vocab = new Map(Object.entries(tok.model.vocab));
const ranks = new Map();
tok.model.merges.forEach((m, i) => {
  const [a, b] = typeof m === 'string' ? m.split(' ') : m;
  ranks.set(a + '\u0000' + b, i);
});

// Non-special added tokens, split out before the model, leftmost-longest.
const added = (tok.added_tokens || []).filter(t => !t.special);
if (added.some(t => !t.normalized)) throw new Error('raw (normalized: false) non-special added tokens not handled');
function splitAdded(s) {
  const parts = [];
  let start = 0;
  for (let i = 0; i < s.length;) {
    let best = null;
    for (const t of added) {
      if (s.startsWith(t.content, i) && (!best || t.content.length > best.content.length)) best = t;
    }
    if (!best) { i++; continue; }
    if (i > start) parts.push(s.slice(start, i));
    parts.push(best.id);
    i += best.content.length;
    start = i;
  }
  if (start < s.length) parts.push(s.slice(start));
  return parts;
}

// The ByteLevel regex; Oniguruma's \s is Unicode White_Space.
const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

const cache = new Map();
function bpe(word) {
  if (cache.has(word)) return cache.get(word);
  let syms = Array.from(Buffer.from(word, 'utf8')).map(b => byteToChar[b]);
  for (;;) {
    let best = -1, bestRank = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = ranks.get(syms[i] + '\u0000' + syms[i + 1]);
      if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0) break;
    syms.splice(best, 2, syms[best] + syms[best + 1]);
  }
  const ids = syms.map(s => {
    if (!vocab.has(s)) throw new Error('not in vocab: ' + s);
    return vocab.get(s);
  });
  cache.set(word, ids);
  return ids;
}

const normalizer = tok.normalizer;
if (normalizer && normalizer.type !== 'NFC') throw new Error('normalizer not handled');
const pre = tok.pre_tokenizer;
if (pre.type !== 'ByteLevel' || pre.add_prefix_space) throw new Error('pre_tokenizer not handled');

const out = [];
const normalized = normalizer ? text.normalize('NFC') : text;
for (const part of splitAdded(normalized)) {
  if (typeof part === 'number') { out.push(part); continue; }
  for (const m of part.matchAll(pat)) for (const id of bpe(m[0])) out.push(id);
}
process.stdout.write(out.join(' ') + '\n');
