#!/usr/bin/env node
// Reference GPT-2 encoding with npm gpt-3-encoder@1.1.4 (scripts/setup.sh installs it under
// third_party/npm). Usage: node tests/tools/gpt2_encode.js FILE [--whole] [--time]
// prints the ids, space-separated; --whole encodes in one piece (slow: for checking the cuts);
// --time writes the seconds spent encoding (not loading) to stderr.
//
// gpt-3-encoder takes time quadratic in its input's length, so the text is fed in pieces of a
// few KB, cut only just before a space or "\n" that follows a printable non-space ASCII
// character. That character ends a contraction or a run of \p{L}, \p{N} or [^\s\p{L}\p{N}],
// which white space can never join, so a match ends there in the whole text and in the piece
// alike (only white-space runs depend on what follows them, through (?!\S) and greed); and a
// match starting at the cut does not depend on what precedes it (no look-behind). So the
// pieces' encodings concatenate to the whole text's (checked with --whole on the corpora).
//
// A known quirk of gpt-3-encoder: it keys merge ranks by `${a},${b}`, so 11 pairs of GPT-2
// tokens that are not merges (e.g. ['",', '"']) collide with real ones (['"', ',"']) and get
// their rank. Saturn follows OpenAI's encoder (ranks keyed by the pair). No difference arose on
// the corpora, nor on all 52,480 strings of 2 to 5 characters from ",}])'.[ and space.
'use strict';
const fs = require('fs');
const path = require('path');

const pkg = path.join(__dirname, '..', '..', 'third_party', 'npm', 'node_modules', 'gpt-3-encoder');
if (!fs.existsSync(path.join(pkg, 'Encoder.js'))) {
  console.error(`gpt2_encode.js: ${pkg} is missing; run scripts/setup.sh`);
  process.exit(3);
}
const { encode } = require(pkg);

const CHUNK = 4096;

function* pieces(text) {
  let start = 0;
  while (start < text.length) {
    let cut = -1;
    for (let i = start + CHUNK; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 32) {
        const prev = text.charCodeAt(i - 1);
        if (prev >= 0x21 && prev <= 0x7e) { cut = i; break; }
      }
    }
    if (cut < 0) cut = text.length;
    yield text.slice(start, cut);
    start = cut;
  }
}

const text = fs.readFileSync(process.argv[2], 'utf8');
const flags = process.argv.slice(3);
const t0 = process.hrtime.bigint();
const out = [];
for (const piece of flags.includes('--whole') ? [text] : pieces(text)) {
  for (const id of encode(piece)) out.push(id);
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(out.join(' ') + '\n');
if (flags.includes('--time')) process.stderr.write(`${seconds}\n`);
