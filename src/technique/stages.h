// How a pipeline cuts a model into stages: contiguous runs of blocks, balanced by forward
// FLOPs per token, the embeddings on the first stage (a lookup: no FLOPs) and the final norm and
// output head on the last (2 x vocab x hidden FLOPs per token: several blocks' worth for small
// models). No LibTorch: the profiler's estimates use it too.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace saturn {

// Forward FLOPs per token of one block at sequence length seq_len, and of the output head.
double BlockFlopsPerToken(const ModelConfig& c, int seq_len);
double HeadFlopsPerToken(const ModelConfig& c);

// The first block of each of `stages` stages (stages <= c.layers), plus c.layers at the end:
// stage s runs blocks [first[s], first[s + 1]). Minimizes the largest stage's FLOPs; ties go
// to the split that puts fewer blocks on later stages.
std::vector<int> BalanceStages(const ModelConfig& c, int seq_len, int stages);

}  // namespace saturn
