// Turns a job's data paths into token files: a token file is used as it is; a text file is
// tokenized once into `cache_dir`, under a name keyed by the text's and the tokenizer's
// checksums, so jobs and reruns that share the text share the tokens.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "data/token_file.h"
#include "data/tokenizer.h"
#include "util/status.h"

namespace saturn {

// `note` receives one line when tokenizing (it can take a while). A token file made by another
// tokenizer (different name or vocabulary) is a user error.
Result<std::shared_ptr<const TokenFile>> PrepareTokens(const std::string& path, const Tokenizer& tok,
                                                       const std::string& cache_dir,
                                                       const std::function<void(const std::string&)>& note = {});

}  // namespace saturn
