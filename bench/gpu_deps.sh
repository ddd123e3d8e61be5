#!/usr/bin/env bash
# Here (Debian 12): unpacks what bench/eval_gpu.sh needs on the GPU machine, which has pip's
# torch but no apt and no network, into .gpu-deps/ (git-ignored): the Debian packages of
# yaml-cpp, CBC (+ Cgl, Clp, Osi, CoinUtils, reference BLAS/LAPACK, gfortran), CLI11,
# nlohmann-json and bzip2 in root/, and the eval data and GPT-2 tokenizer in data/.
# Then: device run with carry [.gpu-deps/root, .gpu-deps/data] and
#   bash bench/eval_gpu.sh .gpu-deps/root .gpu-deps/data $OUT
set -euo pipefail
cd "$(dirname "$0")/.."
D=.gpu-deps
rm -rf $D/root $D/data $D/debs && mkdir -p $D/debs $D/root $D/data
(cd $D/debs && apt-get download libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libcli11-dev \
  coinor-libcbc-dev coinor-libcbc3 coinor-libcgl-dev coinor-libcgl1 coinor-libclp-dev coinor-libclp1 \
  coinor-libosi-dev coinor-libosi1v5 coinor-libcoinutils-dev coinor-libcoinutils3v5 libbz2-dev libbz2-1.0 \
  liblapack3 libblas3 libgfortran5 libquadmath0)
for f in $D/debs/*.deb; do dpkg -x "$f" $D/root; done
cd $D/root
rm -rf usr/share/doc usr/share/man usr/share/lintian usr/share/coin*
find . -name "*.a" -delete
L=usr/lib/x86_64-linux-gnu
# One flat library folder: bzip2 from /lib, BLAS and LAPACK out of their alternatives folders.
cp -a lib/x86_64-linux-gnu/* $L/ && rm -rf lib
rm -f $L/libbz2.so && ln -s libbz2.so.1.0 $L/libbz2.so
for x in blas lapack; do cp -L $L/$x/lib$x.so.3 $L/lib$x.so.3; ln -sf lib$x.so.3 $L/lib$x.so; rm -rf $L/$x; done
cd ../..
cp -r ../shared/data/eval $D/data/eval
mkdir -p $D/data/tokenizers && cp -r ../shared/data/tokenizers/gpt2 $D/data/tokenizers/gpt2
du -sh $D/root $D/data
