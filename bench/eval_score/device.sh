#!/bin/bash
# Device check for the eval scorer: builds model + eval + bench against pip's LibTorch 2.x (CUDA)
# and runs the bench on the GPU, no CMake needed. Usage, from the repository root on a machine with
# python3 -c "import torch" (CUDA): copy /usr/include/nlohmann into .json-include/ (ignored), then
# bash bench/eval_score/device.sh
set -e
test -f src/eval/scorer.cc && test -d .json-include/nlohmann || { echo "run from a checkout with src/eval and .json-include/nlohmann"; exit 3; }
TORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')
ABI=$(python3 -c 'import torch;print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
python3 -c 'import torch;print(torch.__version__, torch.cuda.get_device_name())'
STD=${STD:-c++17}
FLAGS="-O2 -std=$STD -D_GLIBCXX_USE_CXX11_ABI=$ABI -DSATURN_VERSION=\"x\" -DSATURN_SOURCE_TREE=\"$PWD\" -Isrc -I.json-include -I$TORCH/include -I$TORCH/include/torch/csrc/api/include -w"
mkdir -p /tmp/o
SRCS="src/model/config.cc src/model/checkpoint.cc src/model/layers.cc src/model/blocks.cc src/model/gpt.cc src/util/files.cc src/util/suggest.cc src/eval/packing.cc src/eval/score_common.cc src/eval/score_baselines.cc src/eval/scorer.cc bench/eval_score/main.cc"
start=$(date +%s)
echo $SRCS | tr ' ' '\n' | xargs -P 12 -I{} sh -c "g++ $FLAGS -c {} -o /tmp/o/\$(echo {} | tr / _).o || echo COMPILE FAILED {}"
g++ /tmp/o/*.o -o /tmp/bench -L$TORCH/lib -Wl,--no-as-needed -ltorch -ltorch_cuda -ltorch_cpu -lc10_cuda -lc10 -Wl,-rpath,$TORCH/lib
echo "built in $(( $(date +%s) - start )) s"
for m in gpt2-tiny neox-tiny llama-tiny; do /tmp/bench models/$m.json 100 cuda float32 2048 8; done
/tmp/bench models/gpt2.json 300 cuda float32 8192 8
/tmp/bench models/gpt2.json 300 cuda bfloat16 8192 8
/tmp/bench models/pythia-160m.json 300 cuda bfloat16 8192 8
