#!/usr/bin/env bash
# The shipped evaluation sets are intact: every file in datasets/eval/SHA256SUMS decompresses to
# the checksum recorded there, every shipped data file is listed, and, where ../shared/data is
# beside the checkout, the shipped copies equal the originals byte for byte.
set -euo pipefail
root=${1:?usage: datasets_check.sh SOURCE_DIR}
cd "$root/datasets/eval"
fail=0
while read -r sum name; do
  if [[ -f $name ]]; then got=$(sha256sum < "$name"); else got=$(bzip2 -dc "$name.bz2" | sha256sum); fi
  if [[ ${got%% *} != "$sum" ]]; then echo "datasets/eval/$name: checksum differs from SHA256SUMS" >&2; fail=1; fi
done < SHA256SUMS
while read -r f; do
  f=${f#./}
  base=${f%.bz2}
  [[ $f == hellaswag_val.txt.bz2 ]] && base=$f
  if ! awk '{print $2}' SHA256SUMS | grep -qxF "$base"; then
    echo "datasets/eval/$f: not listed in SHA256SUMS" >&2; fail=1
  fi
done < <(find . -type f \( -name '*.bz2' -o -name '*.lst' \) | sort)
shared="$root/../shared/data/eval"
if [[ -d $shared ]]; then
  (cd "$shared" && sha256sum -c --quiet "$root/datasets/eval/SHA256SUMS") || fail=1
fi
[[ $fail == 0 ]] && echo "datasets/eval: $(wc -l < SHA256SUMS) files intact"
exit $fail
