// A .safetensors file's header and layout (src/model/safetensors_header.cc). Beyond no crash:
// an accepted header's tensors lie inside the file and tile its data section exactly.
#include "fuzz_util.h"
#include "model/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto h = saturn::ParseSafetensorsHeader(reinterpret_cast<const char*>(data), size, "fuzz.safetensors");
  saturn::fuzz::CheckUserError(h.status(), "fuzz.safetensors");
  if (!h.ok()) return 0;
  uint64_t total = 0;
  for (const saturn::SafetensorsEntry& e : h->entries) {
    if (e.end < e.begin || h->data_offset + e.end > size) saturn::fuzz::Fail("tensor '" + e.name + "' outside the file");
    total += e.end - e.begin;
  }
  if (h->data_offset + total != size) saturn::fuzz::Fail("accepted tensors do not tile the data section");
  return 0;
}
