#!/usr/bin/env node
// Writes String.prototype.normalize('NFC') of a UTF-8 file to stdout: the reference for
// Saturn's NFC (src/data/nfc.cc). Usage: node tests/tools/nfc.js FILE
'use strict';
process.stdout.write(require('fs').readFileSync(process.argv[2], 'utf8').normalize('NFC'));
