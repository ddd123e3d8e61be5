#!/usr/bin/env bash
# The shipped data sets are intact: in datasets/eval and datasets/reference, every file listed in
# SHA256SUMS decompresses to the checksum recorded there and every shipped data file is listed;
# where ../shared/data is beside the checkout, the shipped evaluation sets equal the originals byte
# for byte.
set -euo pipefail
root=${1:?usage: datasets_check.sh SOURCE_DIR}
fail=0
check_folder() {  # $1: folder under datasets/
  local dir=$1 sum name got f base
  cd "$root/datasets/$dir"
  while read -r sum name; do
    if [[ -f $name ]]; then got=$(sha256sum < "$name"); else got=$(bzip2 -dc "$name.bz2" | sha256sum); fi
    if [[ ${got%% *} != "$sum" ]]; then echo "datasets/$dir/$name: checksum differs from SHA256SUMS" >&2; fail=1; fi
  done < SHA256SUMS
  while read -r f; do
    f=${f#./}
    base=${f%.bz2}
    [[ $f == hellaswag_val.txt.bz2 ]] && base=$f
    if ! awk '{print $2}' SHA256SUMS | grep -qxF "$base"; then
      echo "datasets/$dir/$f: not listed in SHA256SUMS" >&2; fail=1
    fi
  done < <(find . -type f \( -name '*.bz2' -o -name '*.lst' \) | sort)
  echo "datasets/$dir: $(wc -l < SHA256SUMS) files checked"
}
check_folder eval
check_folder reference
shared="$root/../shared/data/eval"
if [[ -d $shared ]]; then
  (cd "$shared" && sha256sum -c --quiet "$root/datasets/eval/SHA256SUMS") || fail=1
fi
exit $fail
